/* CRM settings: "Load stages" fills the stage map with the CRM's stages; "Generate" makes a webhook secret. */
( function () {
	'use strict';

	var config = window.bpmBridgeCrm;
	if ( ! config ) {
		return;
	}
	var STAGE_NAME = 'bpm_bridge[crm.stages][';

	function post( name ) {
		var body = new window.FormData();
		body.append( 'action', 'bpm_bridge_' + name );
		body.append( 'nonce', config.nonces[ name ] );
		return window.fetch( config.ajaxUrl, { method: 'POST', body: body, credentials: 'same-origin' } )
			.then( function ( response ) {
				return response.json();
			} );
	}

	function stageFields() {
		return Array.prototype.filter.call( document.querySelectorAll( 'input[name], select[name]' ), function ( el ) {
			return 0 === el.name.indexOf( STAGE_NAME );
		} );
	}

	// Each status gets a select of the loaded stages; a saved stage the CRM no longer lists stays selectable.
	function fillStages( choices ) {
		stageFields().forEach( function ( field ) {
			var current = field.value;
			var select = document.createElement( 'select' );
			select.id = field.id;
			select.name = field.name;
			var options = [ [ '', config.strings.none ] ];
			Object.keys( choices ).forEach( function ( id ) {
				options.push( [ id, choices[ id ] ] );
			} );
			if ( current && ! Object.prototype.hasOwnProperty.call( choices, current ) ) {
				options.push( [ current, current + ' ' + config.strings.notLoaded ] );
			}
			options.forEach( function ( pair ) {
				var option = document.createElement( 'option' );
				option.value = pair[ 0 ];
				option.textContent = pair[ 1 ];
				option.selected = pair[ 0 ] === current;
				select.appendChild( option );
			} );
			field.parentNode.replaceChild( select, field );
		} );
	}

	function listPipelines( data ) {
		var list = document.getElementById( 'bpm-bridge-pipelines' );
		if ( ! list ) {
			return;
		}
		list.textContent = '';
		( data.pipelines || [] ).forEach( function ( pipeline ) {
			var item = document.createElement( 'li' );
			item.textContent = pipeline.label + ' (' + config.strings.pipelineId + ' ' + pipeline.id + '): ' +
				pipeline.stages.map( function ( stage ) {
					return stage.label;
				} ).join( ', ' );
			list.appendChild( item );
		} );
	}

	function loadStages( button ) {
		var result = document.getElementById( 'bpm-bridge-load-stages-result' );
		button.disabled = true;
		result.className = '';
		result.textContent = config.strings.loading;
		post( 'crm_pipelines' ).then( function ( answer ) {
			var data = answer.data || {};
			result.textContent = data.message || config.strings.failed;
			result.className = answer.success ? 'bpm-bridge-ok' : 'bpm-bridge-error';
			if ( answer.success ) {
				listPipelines( data );
				fillStages( data.choices || {} );
			}
		} ).catch( function () {
			result.textContent = config.strings.failed;
			result.className = 'bpm-bridge-error';
		} ).then( function () {
			button.disabled = false;
		} );
	}

	function generateSecret( button ) {
		if ( '1' === button.getAttribute( 'data-saved' ) && ! window.confirm( config.strings.replace ) ) {
			return;
		}
		var result = document.getElementById( 'bpm-bridge-webhook-secret-result' );
		button.disabled = true;
		post( 'crm_webhook_secret' ).then( function ( answer ) {
			var data = answer.data || {};
			result.textContent = data.message || config.strings.failed;
			if ( answer.success ) {
				var reveal = document.getElementById( 'bpm-bridge-webhook-secret-reveal' );
				document.getElementById( 'bpm-bridge-new-webhook-secret' ).value = data.secret;
				reveal.hidden = false;
				button.setAttribute( 'data-saved', '1' );
			}
		} ).catch( function () {
			result.textContent = config.strings.failed;
		} ).then( function () {
			button.disabled = false;
		} );
	}

	// Each tool next to the field it serves; without this script they stay together under the form.
	function place() {
		var stages = stageFields()[ 0 ];
		var loadTool = document.getElementById( 'bpm-bridge-load-stages-tool' );
		if ( stages && loadTool ) {
			var cell = stages.closest( 'td.forminp' );
			if ( cell ) {
				cell.insertBefore( loadTool, cell.firstChild );
				document.getElementById( 'bpm-bridge-load-stages-row' ).hidden = true;
			}
		}
		var secret = document.getElementById( 'bpm_bridge_crm_webhook_secret' );
		var secretTool = document.getElementById( 'bpm-bridge-webhook-secret-tool' );
		if ( secret && secretTool ) {
			secret.closest( 'td' ).appendChild( secretTool );
			document.getElementById( 'bpm-bridge-webhook-secret-row' ).hidden = true;
		}
		var tools = document.getElementById( 'bpm-bridge-crm-tools' );
		if ( tools && tools.querySelectorAll( 'tr:not([hidden])' ).length === 0 ) {
			tools.hidden = true;
		}
	}

	document.addEventListener( 'click', function ( event ) {
		var target = event.target.closest ? event.target.closest( 'button' ) : null;
		if ( ! target ) {
			return;
		}
		if ( 'bpm-bridge-load-stages' === target.id ) {
			event.preventDefault();
			loadStages( target );
		} else if ( 'bpm-bridge-generate-webhook-secret' === target.id ) {
			event.preventDefault();
			generateSecret( target );
		}
	} );

	if ( 'loading' === document.readyState ) {
		document.addEventListener( 'DOMContentLoaded', place );
	} else {
		place();
	}
}() );
