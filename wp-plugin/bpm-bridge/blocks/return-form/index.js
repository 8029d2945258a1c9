/* The return form block in the editor: a placeholder; the page shows the server-rendered form. No build step. */
( function ( blocks, element, i18n, blockEditor ) {
	var el = element.createElement;
	var __ = i18n.__;
	blocks.registerBlockType( 'bpm-bridge/return-form', {
		edit: function Edit() {
			// apiVersion 3: the block's wrapper comes from useBlockProps (the editor's selection, spacing, classes).
			var blockProps = blockEditor.useBlockProps( {
				className: 'bpm-return-block-placeholder',
				style: { border: '1px dashed #999', padding: '1em' },
			} );
			return el(
				'div',
				blockProps,
				el( 'strong', null, __( 'Return form', 'bpm-bridge' ) ),
				el( 'p', null, __( 'Customers find their order by number and e-mail here and request a return.', 'bpm-bridge' ) )
			);
		},
		save: function () {
			return null;
		},
	} );
} )( window.wp.blocks, window.wp.element, window.wp.i18n, window.wp.blockEditor );
