/* Copy buttons for the values BPM Bridge shows only once (signing secret, Application Password snippet). */
( function () {
	'use strict';

	function copyFrom( field, button ) {
		var done = function () {
			var original = button.getAttribute( 'data-label' ) || button.textContent;
			button.setAttribute( 'data-label', original );
			button.textContent = button.getAttribute( 'data-copied' ) || original;
			window.setTimeout( function () {
				button.textContent = original;
			}, 2000 );
		};

		if ( window.navigator.clipboard && window.isSecureContext ) {
			window.navigator.clipboard.writeText( field.value ).then( done );
			return;
		}
		// Plain-http admin screens have no Clipboard API: fall back to the selection.
		field.focus();
		field.select();
		try {
			document.execCommand( 'copy' );
			done();
		} catch ( e ) {
			// The value stays selected so the admin can copy it by hand.
		}
	}

	document.addEventListener( 'click', function ( event ) {
		var button = event.target.closest ? event.target.closest( '.bpm-bridge-copy' ) : null;
		if ( ! button ) {
			return;
		}
		event.preventDefault();
		var field = document.getElementById( button.getAttribute( 'data-target' ) );
		if ( field ) {
			copyFrom( field, button );
		}
	} );

	document.addEventListener( 'submit', function ( event ) {
		var message = event.submitter ? event.submitter.getAttribute( 'data-confirm' ) : null;
		if ( message && ! window.confirm( message ) ) {
			event.preventDefault();
		}
	} );
}() );
