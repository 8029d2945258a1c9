<?php
/**
 * Complaint photos: checked to be real images, stored where the web server does not serve them.
 *
 * @package BPM_Bridge
 */

namespace BPM_Bridge\Returns;

defined( 'ABSPATH' ) || exit;

/**
 * Photos live outside the web root when WordPress' parent folder is outside the document root and the web server
 * may write there (dirname( ABSPATH )/bpm-bridge-private), else in uploads/bpm-bridge-private/ behind
 * "Require all denied" and an index.php; the folder is chosen once, on the first photo a web request stores, and
 * remembered in an option (so uninstall removes the right one). Random names; Downloads serves them by their
 * position in the return to the customer and to staff only, so no URL carries a stored name.
 */
final class Photos {

	const MAX_FILES = 5;

	/**
	 * The option remembering the chosen folder.
	 */
	const DIR_OPTION = 'bpm_bridge_private_dir';

	/**
	 * Stored names: 32 random hex digits and the real type's extension.
	 */
	const NAME_PATTERN = '/^[a-f0-9]{32}\.(jpg|png|webp)$/';

	/**
	 * The guard files written into the folder, with their exact content (uninstall removes only these and photos).
	 */
	const GUARDS = array(
		'.htaccess' => "Require all denied\n<IfModule !mod_authz_core.c>\nDeny from all\n</IfModule>\n",
		'index.php' => "<?php\n// Silence is golden.\n",
	);

	/**
	 * Real type => extension: the only images taken (no SVG: it can carry scripts).
	 */
	const TYPES = array(
		'image/jpeg' => 'jpg',
		'image/png'  => 'png',
		'image/webp' => 'webp',
	);

	/**
	 * The private directory, chosen (see resolve()) and created with its guards on first use.
	 */
	public static function dir(): string {
		$dir = self::location( true );
		if ( ! is_dir( $dir ) ) {
			wp_mkdir_p( $dir );
		}
		foreach ( self::GUARDS as $file => $content ) {
			if ( ! file_exists( $dir . '/' . $file ) ) {
				file_put_contents( $dir . '/' . $file, $content ); // phpcs:ignore WordPress.WP.AlternativeFunctions
			}
		}
		return $dir;
	}

	/**
	 * Where the private directory is (not created): the remembered folder, else the one resolve() picks (when
	 * $resolve) or the uploads fallback.
	 *
	 * @param bool $resolve Choose (and remember) the folder when none is remembered yet.
	 */
	private static function location( bool $resolve = false ): string {
		$stored = (string) get_option( self::DIR_OPTION, '' );
		$dir    = '' !== $stored ? $stored : ( $resolve ? self::resolve() : self::fallback() );
		/**
		 * Where complaint photos are stored.
		 *
		 * @param string $dir Directory (outside the web root when the plugin could, else uploads/bpm-bridge-private).
		 */
		return untrailingslashit( (string) apply_filters( 'bpm_bridge_private_dir', $dir ) );
	}

	/**
	 * The folder in the uploads (closed by .htaccess; random names where a server ignores it).
	 */
	public static function fallback(): string {
		$uploads = wp_upload_dir( null, false );
		return untrailingslashit( (string) $uploads['basedir'] ) . '/bpm-bridge-private';
	}

	/**
	 * Picks the folder: outside the web root when possible, else the fallback. Only a web request remembers its
	 * choice: it runs as the web server's user, so whether that user may write the folder is what it finds out;
	 * a command line run (often root) would learn nothing about that, and its document root is unknown.
	 */
	private static function resolve(): string {
		$document_root = isset( $_SERVER['DOCUMENT_ROOT'] ) ? sanitize_text_field( wp_unslash( $_SERVER['DOCUMENT_ROOT'] ) ) : '';
		$outside       = 'cli' === PHP_SAPI ? '' : self::outside_candidate( ABSPATH, $document_root );
		$dir           = '' !== $outside && self::usable( $outside ) ? $outside : self::fallback();
		if ( 'cli' !== PHP_SAPI ) {
			update_option( self::DIR_OPTION, $dir, false );
		}
		return $dir;
	}

	/**
	 * The folder next to WordPress' own (dirname( ABSPATH )), or '' when it would be inside the document root
	 * (WordPress in a subfolder of it), the document root is unknown, or open_basedir forbids it.
	 *
	 * @param string $abspath       WordPress' folder.
	 * @param string $document_root The web server's document root.
	 */
	public static function outside_candidate( string $abspath, string $document_root ): string {
		if ( '' === trim( $document_root ) ) {
			return '';
		}
		$real   = static function ( string $path ): string {
			$resolved = realpath( $path );
			return untrailingslashit( wp_normalize_path( false === $resolved ? $path : $resolved ) );
		};
		$inside = static function ( string $path, string $base ): bool {
			return '' !== $base && ( $path === $base || 0 === strpos( $path . '/', trailingslashit( $base ) ) );
		};
		$wp     = $real( $abspath );
		$parent = $real( dirname( $wp ) );
		$name   = 'bpm-bridge-private' . ( is_multisite() && get_current_blog_id() > 1 ? '-' . get_current_blog_id() : '' );
		$dir    = ( '/' === $parent ? '' : $parent ) . '/' . $name;
		if ( $inside( $dir, $real( $document_root ) ) || $inside( $dir, $wp ) ) {
			return '';
		}
		$basedir = (string) ini_get( 'open_basedir' );
		if ( '' !== $basedir ) {
			$allowed = false;
			foreach ( explode( PATH_SEPARATOR, $basedir ) as $base ) {
				$allowed = $allowed || ( '' !== trim( $base ) && $inside( $dir, $real( trim( $base ) ) ) );
			}
			if ( ! $allowed ) {
				return '';
			}
		}
		return $dir;
	}

	/**
	 * Whether this process can create the folder and write a file into it (tried, not guessed).
	 *
	 * @param string $dir Folder.
	 */
	private static function usable( string $dir ): bool {
		if ( ! is_dir( $dir ) && ( ! wp_is_writable( dirname( $dir ) ) || ! wp_mkdir_p( $dir ) ) ) {
			return false;
		}
		$probe = $dir . '/.bpm-probe-' . bin2hex( random_bytes( 4 ) );
		$ok    = false !== file_put_contents( $probe, '1' ); // phpcs:ignore WordPress.WP.AlternativeFunctions
		if ( $ok ) {
			wp_delete_file( $probe );
		}
		return $ok;
	}

	/**
	 * Removes our photos and guard files from the folder in use and from the fallback, the folders themselves
	 * when nothing else is left in them, and the remembered choice (uninstall). Anything else stays.
	 */
	public static function remove_all(): void {
		$dirs = array_unique( array_filter( array( (string) get_option( self::DIR_OPTION, '' ), self::location(), self::fallback() ) ) );
		foreach ( $dirs as $dir ) {
			$dir = untrailingslashit( $dir );
			if ( ! is_dir( $dir ) ) {
				continue;
			}
			foreach ( (array) scandir( $dir ) as $file ) {
				$file = (string) $file;
				$path = $dir . '/' . $file;
				if ( ! is_file( $path ) ) {
					continue;
				}
				$guard = isset( self::GUARDS[ $file ] ) && hash( 'sha256', self::GUARDS[ $file ] ) === hash_file( 'sha256', $path );
				if ( $guard || preg_match( self::NAME_PATTERN, $file ) ) {
					wp_delete_file( $path );
				}
			}
			if ( array( '.', '..' ) === array_values( (array) scandir( $dir ) ) ) {
				rmdir( $dir ); // phpcs:ignore WordPress.WP.AlternativeFunctions
			}
		}
		delete_option( self::DIR_OPTION );
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
		if ( in_array( (int) $file['error'], array( UPLOAD_ERR_INI_SIZE, UPLOAD_ERR_FORM_SIZE ), true ) ) {
			return self::too_large( $name );
		}
		if ( UPLOAD_ERR_OK !== (int) $file['error'] || ( $uploaded && ! is_uploaded_file( $file['tmp_name'] ) ) || ! is_readable( $file['tmp_name'] ) ) {
			/* translators: %s: file name */
			return new \WP_Error( 'bpm_bridge_photo', sprintf( __( '%s could not be uploaded.', 'bpm-bridge' ), $name ) );
		}
		$size = (int) filesize( $file['tmp_name'] );
		if ( $size > self::max_bytes() ) {
			return self::too_large( $name );
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
	 * The largest photo taken: the shop's limit, or less when PHP takes less (upload_max_filesize, post_max_size).
	 */
	public static function max_bytes(): int {
		return max( 1, min( Rules::max_photo_bytes(), (int) wp_max_upload_size() ) );
	}

	/**
	 * The error for a photo over the limit.
	 *
	 * @param string $name File name.
	 */
	private static function too_large( string $name ): \WP_Error {
		/* translators: 1: file name, 2: size limit, e.g. "5 MB" */
		return new \WP_Error( 'bpm_bridge_photo', sprintf( __( '%1$s is larger than %2$s.', 'bpm-bridge' ), $name, size_format( self::max_bytes() ) ) );
	}

	/**
	 * Path of a stored photo, or '' when the name is not one of ours.
	 *
	 * @param string $name Stored name.
	 */
	public static function path( string $name ): string {
		if ( ! preg_match( self::NAME_PATTERN, $name ) ) {
			return '';
		}
		$path = self::location() . '/' . $name;
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
