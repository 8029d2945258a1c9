/* Return form: the locker code only for locker returns, photos only when a complaint reason is chosen. */
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
	}
	document.querySelectorAll( 'form.bpm-return-form' ).forEach( setup );
} )();
