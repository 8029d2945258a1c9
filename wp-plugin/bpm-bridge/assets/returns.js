/* Return form: the locker code only for locker returns, photos only when a complaint reason is chosen, one submit. */
( function () {
	function setup( form ) {
		var complaints = [];
		try {
			complaints = JSON.parse( form.getAttribute( 'data-complaint-reasons' ) || '[]' );
		} catch ( e ) {}
		var point = form.querySelector( '.bpm-return-point' );
		var photos = form.querySelector( '.bpm-return-photos' );
		function refresh() {
			var method = form.querySelector( 'input[name="bpm_method"]:checked' );
			if ( point ) {
				point.hidden = ! method || 'locker' !== method.value;
			}
			if ( photos ) {
				var complaint = false;
				form.querySelectorAll( 'select.bpm-reason' ).forEach( function ( select ) {
					complaint = complaint || complaints.indexOf( select.value ) !== -1;
				} );
				photos.hidden = ! complaint;
			}
		}
		form.addEventListener( 'change', refresh );
		refresh();
		// One request per click: a second click while the first is on its way would send the return twice.
		var button = form.querySelector( 'button[type="submit"]' );
		form.addEventListener( 'submit', function () {
			if ( button ) {
				button.disabled = true;
				button.setAttribute( 'aria-busy', 'true' );
			}
		} );
		// Back to a page kept in the browser's cache: the button works again.
		window.addEventListener( 'pageshow', function () {
			if ( button ) {
				button.disabled = false;
				button.removeAttribute( 'aria-busy' );
			}
		} );
	}
	document.querySelectorAll( 'form.bpm-return-form' ).forEach( setup );
} )();
