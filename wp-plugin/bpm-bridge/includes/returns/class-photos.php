<?php
/**
 * Complaint photos: checked to be real images, stored where the web server does not serve them.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

defined( 'ABSPATH' ) || exit;

/**
 * Photos live in uploads/bpm-bridge-private/ (or the directory the `bpm_bridge_private_dir` filter names, e.g.
 * one outside the web root) under random names, behind "Require all denied"; Downloads serves them to the
 * customer and to staff only.
 */
final class Photos {

	const MAX_FILES = 5;

	/**
	 * Real type => extension: the only images taken (no SVG: it can carry scripts).
	 */
	const TYPES = array(
		'image/jpeg' => 'jpg',
		'image/png'  => 'png',
		'image/webp' => 'webp',
	);

	/**
	 * The private directory, created with its guards on first use.
	 */
	public static function dir(): string {
		$dir = self::location();
		if ( ! is_dir( $dir ) ) {
			wp_mkdir_p( $dir );
		}
		if ( ! file_exists( $dir . '/.htaccess' ) ) {
			file_put_contents( $dir . '/.htaccess', "Require all denied\n<IfModule !mod_authz_core.c>\nDeny from all\n</IfModule>\n" ); // phpcs:ignore WordPress.WP.AlternativeFunctions
			file_put_contents( $dir . '/index.php', "<?php\n// Silence is golden.\n" ); // phpcs:ignore WordPress.WP.AlternativeFunctions
		}
		return $dir;
	}

	/**
	 * Where the private directory is (not created).
	 */
	private static function location(): string {
		$uploads = wp_upload_dir( null, false );
		/**
		 * Where complaint photos are stored (a directory outside the web root is best).
		 *
		 * @param string $dir Directory.
		 */
		return untrailingslashit( (string) apply_filters( 'bpm_bridge_private_dir', $uploads['basedir'] . '/bpm-bridge-private' ) );
	}

	/**
	 * Removes the private directory and every photo in it (uninstall).
	 */
	public static function remove_all(): void {
		$dir = self::location();
		if ( ! is_dir( $dir ) ) {
			return;
		}
		foreach ( array_merge( (array) glob( $dir . '/*' ), array( $dir . '/.htaccess' ) ) as $file ) {
			if ( is_string( $file ) && is_file( $file ) ) {
				wp_delete_file( $file );
			}
		}
		rmdir( $dir ); // phpcs:ignore WordPress.WP.AlternativeFunctions
	}

	/**
	 * The uploaded files of a multiple file field, one array each.
	 *
	 * @param array $field A $_FILES entry (name[], tmp_name[], …).
	 * @return array<int, array{name: string, tmp_name: string, size: int, error: int}>
	 */
	public static function from_field( array $field ): array {
		$files = array();
		foreach ( (array) ( $field['name'] ?? array() ) as $i => $name ) {
			$error = (int) ( $field['error'][ $i ] ?? UPLOAD_ERR_NO_FILE );
			if ( UPLOAD_ERR_NO_FILE === $error ) {
				continue;
			}
			$files[] = array(
				'name'     => (string) $name,
				'tmp_name' => (string) ( $field['tmp_name'][ $i ] ?? '' ),
				'size'     => (int) ( $field['size'][ $i ] ?? 0 ),
				'error'    => $error,
			);
		}
		return $files;
	}

	/**
	 * Checks every file, then stores them all (or none).
	 *
	 * @param array $files    The list from_field() gives.
	 * @param bool  $uploaded Files come from this request's upload (is_uploaded_file); false only for tests.
	 * @return string[]|\WP_Error Stored file names.
	 */
	public static function store( array $files, bool $uploaded = true ) {
		if ( count( $files ) > self::MAX_FILES ) {
			/* translators: %d: number of photos */
			return new \WP_Error( 'bpm_bridge_photo', sprintf( __( 'At most %d photos, please.', 'bpm-bridge' ), self::MAX_FILES ) );
		}
		$checked = array();
		foreach ( $files as $file ) {
			$ext = self::check( $file, $uploaded );
			if ( is_wp_error( $ext ) ) {
				return $ext;
			}
			$checked[] = array( $file['tmp_name'], $ext );
		}
		$dir   = self::dir();
		$names = array();
		foreach ( $checked as list( $tmp, $ext ) ) {
			$name = bin2hex( random_bytes( 16 ) ) . '.' . $ext;
			$ok   = $uploaded ? move_uploaded_file( $tmp, $dir . '/' . $name ) : copy( $tmp, $dir . '/' . $name );
			if ( ! $ok ) {
				self::delete( $names );
				return new \WP_Error( 'bpm_bridge_photo', __( 'The photo could not be saved. Please try again.', 'bpm-bridge' ) );
			}
			$names[] = $name;
		}
		return $names;
	}

	/**
	 * One file's check: uploaded without error, within the size limit, and really a JPEG, PNG or WebP
	 * (by content, whatever its name says).
	 *
	 * @param array $file     File: name, tmp_name, size, error.
	 * @param bool  $uploaded See store().
	 * @return string|\WP_Error The extension to store it under.
	 */
	private static function check( array $file, bool $uploaded ) {
		$name = sanitize_file_name( (string) $file['name'] );
		if ( UPLOAD_ERR_OK !== (int) $file['error'] || ( $uploaded && ! is_uploaded_file( $file['tmp_name'] ) ) || ! is_readable( $file['tmp_name'] ) ) {
			/* translators: %s: file name */
			return new \WP_Error( 'bpm_bridge_photo', sprintf( __( '%s could not be uploaded.', 'bpm-bridge' ), $name ) );
		}
		$size = (int) filesize( $file['tmp_name'] );
		if ( $size > Rules::max_photo_bytes() ) {
			/* translators: 1: file name, 2: size limit in MB */
			return new \WP_Error( 'bpm_bridge_photo', sprintf( __( '%1$s is larger than %2$d MB.', 'bpm-bridge' ), $name, (int) Rules::get( 'max_photo_mb' ) ) );
		}
		$mimes = array(
			'jpg|jpeg|jpe' => 'image/jpeg',
			'png'          => 'image/png',
			'webp'         => 'image/webp',
		);
		$type  = wp_check_filetype_and_ext( $file['tmp_name'], $name, $mimes );
		$info  = @getimagesize( $file['tmp_name'] ); // phpcs:ignore Generic.PHP.NoSilencedErrors,WordPress.PHP.NoSilencedErrors -- a non-image is an answer here, not an error.
		$real  = is_array( $info ) ? (string) ( $info['mime'] ?? '' ) : '';
		if ( empty( $type['type'] ) || ! isset( self::TYPES[ $real ] ) || $type['type'] !== $real ) {
			/* translators: %s: file name */
			return new \WP_Error( 'bpm_bridge_photo', sprintf( __( '%s is not a photo (JPEG, PNG or WebP).', 'bpm-bridge' ), $name ) );
		}
		return self::TYPES[ $real ];
	}

	/**
	 * Path of a stored photo, or '' when the name is not one of ours.
	 *
	 * @param string $name Stored name.
	 */
	public static function path( string $name ): string {
		if ( ! preg_match( '/^[a-f0-9]{32}\.(jpg|png|webp)$/', $name ) ) {
			return '';
		}
		$path = self::dir() . '/' . $name;
		return is_file( $path ) ? $path : '';
	}

	/**
	 * Removes stored photos.
	 *
	 * @param string[] $names Stored names.
	 */
	public static function delete( array $names ): void {
		foreach ( $names as $name ) {
			$path = self::path( (string) $name );
			if ( '' !== $path ) {
				wp_delete_file( $path );
			}
		}
	}
}
