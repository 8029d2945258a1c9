<?php
/**
 * Dependencies of the block's editor script (no build step, so written by hand).
 *
 * @package BPM_Bridge
 */

return array(
	'dependencies' => array( 'wp-block-editor', 'wp-blocks', 'wp-element', 'wp-i18n' ),
	'version'      => '2',
);
