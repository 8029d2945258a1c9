<?php
/**
 * The customer side of returns: eligibility, the form's checks, guests, photos, downloads.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Options;
use BPM_Bridge\Returns\Downloads;
use BPM_Bridge\Returns\Eligibility;
use BPM_Bridge\Returns\Form;
use BPM_Bridge\Returns\Guest;
use BPM_Bridge\Returns\Input;
use BPM_Bridge\Returns\Photos;
use BPM_Bridge\Rma;

/**
 * Customer returns.
 */
class RmaCustomerTest extends BPM_Test_Case {

	const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

	/**
	 * Returns on, default rules.
	 */
	protected function setUp(): void {
		parent::setUp();
		if ( ! self::real_woocommerce() ) {
			$this->markTestSkipped( 'needs real WooCommerce orders with items' );
		}
		Options::set( 'rma', array( 'enabled' => true ) );
		Form::reset();
		global $wpdb;
		// The guest limits are counted in transients: every test starts uncounted.
		foreach ( (array) $wpdb->get_col( $wpdb->prepare( "SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE %s", $wpdb->esc_like( '_transient_bpm_bridge_rl_' ) . '%' ) ) as $name ) {
			delete_transient( substr( $name, strlen( '_transient_' ) ) );
		}
		$_SERVER['REMOTE_ADDR'] = '192.0.2.1';
	}

	/**
	 * A completed order of a customer with 2 × the test product, completed $days_ago days ago.
	 *
	 * @param int    $customer Customer id.
	 * @param int    $days_ago Days since completion.
	 * @param string $payment  Payment method.
	 * @return array{0: WC_Order, 1: int} The order and its item id.
	 */
	private function order( int $customer, int $days_ago = 1, string $payment = 'bacs' ): array {
		$order = wc_create_order( array( 'customer_id' => $customer ) );
		$item  = $order->add_product( self::test_product(), 2 );
		$order->set_billing_email( 'anna@example.com' );
		$order->set_payment_method( $payment );
		$order->calculate_totals();
		$order->set_status( 'completed' );
		$order->set_date_completed( time() - $days_ago * DAY_IN_SECONDS );
		$order->save();
		return array( wc_get_order( $order->get_id() ), (int) $item );
	}

	/**
	 * A POST of the form.
	 *
	 * @param WC_Order $order Order.
	 * @param array    $lines item id => [quantity, reason].
	 * @param array    $more  More fields.
	 */
	private function post( WC_Order $order, array $lines, array $more = array() ): array {
		$post = array(
			'bpm_order_id' => $order->get_id(),
			'_bpm_nonce'   => wp_create_nonce( Form::nonce_action( $order->get_id() ) ),
			'bpm_method'   => 'own',
		);
		foreach ( $lines as $item_id => $line ) {
			$post['bpm_qty'][ $item_id ]    = $line[0];
			$post['bpm_reason'][ $item_id ] = $line[1];
		}
		return array_merge( $post, $more );
	}

	/**
	 * A file for the photo field.
	 *
	 * @param string $name    Name.
	 * @param string $content Content.
	 */
	private function upload( string $name, string $content ): array {
		$tmp = (string) tempnam( sys_get_temp_dir(), 'bpm-photo' );
		file_put_contents( $tmp, $content );
		return array(
			'bpm_photos' => array(
				'name'     => array( $name ),
				'tmp_name' => array( $tmp ),
				'size'     => array( strlen( $content ) ),
				'error'    => array( UPLOAD_ERR_OK ),
			),
		);
	}

	public function test_windows_and_quantities(): void {
		$customer = $this->make_user( 'customer' );
		list( $fresh, $item ) = $this->order( $customer, 3 );
		$open = Eligibility::for_order( $fresh );
		$this->assertTrue( $open['returnable'] && $open['withdrawal_open'] && $open['complaint_open'] );
		$this->assertSame( 2, $open['items'][ $item ]['returnable'] );
		$this->assertCount( 4, Eligibility::reasons( $open ) );

		list( $late ) = $this->order( $customer, 20 );
		$complaint_only = Eligibility::for_order( $late );
		$this->assertFalse( $complaint_only['withdrawal_open'] );
		$this->assertSame( array( 'Damaged in transit', 'Defect (reklamacja)' ), Eligibility::reasons( $complaint_only ) );

		list( $old ) = $this->order( $customer, 800 );
		$closed = Eligibility::for_order( $old );
		$this->assertFalse( $closed['returnable'] );
		$this->assertStringContainsString( 'ended on', $closed['why'] );
		$this->assertSame( array(), Eligibility::reasons( $closed ) );

		// The carrier's delivery date wins over the completed date.
		$old->update_meta_data( '_bpm_delivered_at', gmdate( 'c', time() - 2 * DAY_IN_SECONDS ) );
		$old->save();
		$this->assertTrue( Eligibility::for_order( $old )['withdrawal_open'] );

		$processing = wc_create_order();
		$processing->set_status( 'processing' );
		$processing->save();
		$this->assertFalse( Eligibility::for_order( $processing )['returnable'], 'not delivered yet' );
		$processing->update_meta_data( '_bpm_delivered_at', gmdate( 'c', time() - DAY_IN_SECONDS ) );
		$processing->save();
		$this->assertTrue( Eligibility::for_order( $processing )['withdrawal_open'], 'the carrier delivered it' );

		// A WooCommerce refund of one piece leaves one to return.
		wc_create_refund(
			array(
				'order_id'   => $fresh->get_id(),
				'amount'     => 0,
				'line_items' => array(
					$item => array(
						'qty'          => 1,
						'refund_total' => 0,
					),
				),
			)
		);
		$this->assertSame( 1, Eligibility::for_order( wc_get_order( $fresh->get_id() ) )['items'][ $item ]['returnable'] );

		Options::set( 'rma', array( 'enabled' => false ) );
		$this->assertFalse( Eligibility::for_order( $fresh )['returnable'], 'returns switched off' );
	}

	public function test_windows_end_with_the_last_day_in_the_shops_time_zone(): void {
		$zone = get_option( 'timezone_string' );
		update_option( 'timezone_string', 'Europe/Warsaw' );
		$php_zone = date_default_timezone_get();
		try {
			list( $order ) = $this->order( 0 );
			// Completed at 23:30 UTC on 10 March 2025 = 00:30 on 11 March in Warsaw: 14 days end on 25 March, 23:59:59 Warsaw.
			$order->set_date_completed( gmmktime( 23, 30, 0, 3, 10, 2025 ) );
			$order->save();
			$order = wc_get_order( $order->get_id() );
			$end   = gmmktime( 22, 59, 59, 3, 25, 2025 );
			$this->assertSame( $end, Eligibility::for_order( $order, $end )['withdrawal_until'] );
			$this->assertTrue( Eligibility::for_order( $order, $end )['withdrawal_open'], 'the whole last day' );
			$this->assertFalse( Eligibility::for_order( $order, $end + 1 )['withdrawal_open'] );
			$this->assertSame( gmmktime( 22, 59, 59, 3, 11, 2027 ), Eligibility::for_order( $order, $end )['complaint_until'], 'complaints too (730 days, summer time ignored: 23:59:59 Warsaw)' );

			// A delivery time without a zone is UTC, whatever PHP's default zone is.
			date_default_timezone_set( 'America/New_York' );
			$order->update_meta_data( '_bpm_delivered_at', '2025-03-10 10:00:00' );
			$this->assertSame( gmmktime( 10, 0, 0, 3, 10, 2025 ), Eligibility::start( $order ) );
			$order->update_meta_data( '_bpm_delivered_at', '2025-03-10T10:00:00+02:00' );
			$this->assertSame( gmmktime( 8, 0, 0, 3, 10, 2025 ), Eligibility::start( $order ) );
			date_default_timezone_set( $php_zone );

			// Completed without a completed date (an import): the last change stands in for it.
			list( $imported ) = $this->order( 0 );
			$imported->set_date_completed( null );
			$imported->save();
			$imported = wc_get_order( $imported->get_id() );
			$this->assertNull( $imported->get_date_completed() );
			$this->assertSame( $imported->get_date_modified()->getTimestamp(), Eligibility::start( $imported ) );
			$this->assertTrue( Eligibility::for_order( $imported )['withdrawal_open'] );
		} finally {
			date_default_timezone_set( $php_zone );
			update_option( 'timezone_string', $zone );
		}
	}

	public function test_iban_and_locker_code(): void {
		$this->assertSame( 'PL61109010140000071219812874', Input::iban( 'PL61 1090 1014 0000 0712 1981 2874' ) );
		$this->assertSame( 'PL61109010140000071219812874', Input::iban( '61109010140000071219812874' ) );
		$this->assertNull( Input::iban( 'PL62109010140000071219812874' ), 'checksum' );
		$this->assertNull( Input::iban( 'DE89370400440532013000' ), 'Polish accounts only' );
		$this->assertNull( Input::iban( 'PL6110901014000007121981287' ), 'length' );
		$this->assertSame( 'WAW123M', Input::point( ' waw123m ' ) );
		$this->assertSame( 'POP-KRA12', Input::point( 'POP-KRA12' ) );
		foreach ( array( '', 'WA', 'WAWABC', '123ABC', 'WAW 1<script>', 'WAW123MMMMMMMMM' ) as $bad ) {
			$this->assertNull( Input::point( $bad ), $bad );
		}
	}

	public function test_a_withdrawal_of_one_of_two_then_no_second_return_of_the_same(): void {
		$customer = $this->make_user( 'customer' );
		wp_set_current_user( $customer );
		list( $order, $item ) = $this->order( $customer );
		$seen = array();
		$hook = static function ( $id ) use ( &$seen ) {
			$seen[] = $id;
		};
		add_action( 'bpm_bridge_rma_created', $hook );
		$result = Form::handle_submit( $this->post( $order, array( $item => array( 1, 'Wrong item' ) ), array( 'bpm_note' => "<b>Za duże</b>" ) ), array(), false );
		remove_action( 'bpm_bridge_rma_created', $hook );
		$this->assertIsArray( $result, wp_json_encode( Form::state() ) );
		$this->assertSame( array( $result['rma_id'] ), $seen );
		$this->assertStringContainsString( 'bpm_rma=' . $result['rma_id'], $result['redirect'] );
		$rma = Rma::get( $result['rma_id'] );
		$this->assertSame( array( 'withdrawal', 'own', $customer, 'anna@example.com', 'Za duże', 'requested' ), array( $rma['kind'], $rma['method'], $rma['customer_id'], $rma['email'], $rma['customer_note'], $rma['status'] ) );
		$this->assertSame( 1, $rma['items'][0]['quantity'] );

		// The second piece may go; the first may not go twice.
		$this->assertNull( Form::handle_submit( $this->post( $order, array( $item => array( 2, 'Wrong item' ) ) ), array(), false ) );
		$this->assertStringContainsString( 'At most 1 piece', Form::state()['errors'][ 'item_' . $item ] );
		$this->assertSame( 2, (int) Form::state()['values']['qty'][ $item ], 'the input is kept' );
		$this->assertIsArray( Form::handle_submit( $this->post( $order, array( $item => array( 1, 'Wrong item' ) ) ), array(), false ) );
		$this->assertNull( Form::handle_submit( $this->post( $order, array( $item => array( 1, 'Wrong item' ) ) ), array(), false ) );
		$this->assertSame( 'Every item of this order has already been returned or refunded.', Form::state()['errors']['items'] );
		$this->assertSame( 2, Rma::query( array( 'order_id' => $order->get_id() ) )['total'] );
	}

	public function test_a_refunded_return_is_not_counted_twice(): void {
		$customer = $this->make_user( 'customer' );
		wp_set_current_user( $customer );
		list( $order, $item ) = $this->order( $customer );
		$ok = Form::handle_submit( $this->post( $order, array( $item => array( 1, 'Wrong item' ) ) ), array(), false );
		$this->assertIsArray( $ok, wp_json_encode( Form::state() ) );
		Rma::set_status( $ok['rma_id'], 'requested', 'approved' );
		Rma::set_status( $ok['rma_id'], 'approved', 'received' );
		$refund = BPM_Bridge\Returns\Refund::issue( $ok['rma_id'], false );
		$this->assertIsArray( $refund, is_wp_error( $refund ) ? $refund->get_error_message() : '' );
		$order = wc_get_order( $order->get_id() );
		$this->assertSame( 1, absint( $order->get_qty_refunded_for_item( $item ) ), 'the refund holds the returned piece' );
		// The piece is in WooCommerce's refund and in the refunded return: it counts once, the other one may go.
		$this->assertSame( 1, Eligibility::for_order( $order )['items'][ $item ]['returnable'] );
		$this->assertIsArray( Form::handle_submit( $this->post( $order, array( $item => array( 1, 'Wrong item' ) ) ), array(), false ), wp_json_encode( Form::state() ) );
		$this->assertSame( 0, Eligibility::for_order( wc_get_order( $order->get_id() ) )['items'][ $item ]['returnable'] );
	}

	public function test_the_same_form_sent_twice_makes_one_return(): void {
		global $wpdb;
		$customer = $this->make_user( 'customer' );
		wp_set_current_user( $customer );
		list( $order, $item ) = $this->order( $customer );
		$post  = $this->post( $order, array( $item => array( 2, 'Wrong item' ) ), array( 'bpm_submission' => wp_generate_uuid4() ) );
		$first = Form::handle_submit( $post, array(), false );
		$this->assertIsArray( $first, wp_json_encode( Form::state() ) );
		$again = Form::handle_submit( $post, array(), false );
		$this->assertIsArray( $again, 'a repeat shows the confirmation, not a quantity error: ' . wp_json_encode( Form::state() ) );
		$this->assertSame( $first, $again );
		$this->assertSame( 1, Rma::query( array( 'order_id' => $order->get_id() ) )['total'] );
		// Another form (a new submission id) is a new request, checked as such.
		$this->assertNull( Form::handle_submit( array( 'bpm_submission' => wp_generate_uuid4() ) + $post, array(), false ) );
		$this->assertSame( 'Every item of this order has already been returned or refunded.', Form::state()['errors']['items'] );
		// The rendered form carries a fresh id; the lock is the site's own.
		list( $open ) = $this->order( $customer );
		$this->assertMatchesRegularExpression( '/name="bpm_submission" value="[a-f0-9-]{36}"/', Form::render( $open, '', home_url( '/' ) ) );
		$this->assertStringStartsWith( $wpdb->prefix, Form::lock_name( $order->get_id() ) );
	}

	public function test_refused_requests(): void {
		$anna  = $this->make_user( 'customer' );
		$brian = $this->make_user( 'customer' );
		list( $order, $item ) = $this->order( $anna );
		list( $cod, $cod_item ) = $this->order( $anna, 1, 'cod' );
		$line = array( $item => array( 1, 'Wrong item' ) );
		$refused = function ( array $post, string $field, string $expect, int $user ) {
			wp_set_current_user( $user );
			Form::reset();
			$this->assertNull( Form::handle_submit( $post, array(), false ), $expect );
			$this->assertStringContainsString( $expect, (string) ( Form::state()['errors'][ $field ] ?? '' ), wp_json_encode( Form::state() ) );
		};
		wp_set_current_user( $brian );
		$someone_elses = $this->post( $order, $line );
		$refused( $someone_elses, 'form', 'You cannot return items of this order.', $brian );
		wp_set_current_user( 0 );
		$refused( $this->post( $order, $line ), 'form', 'You cannot return items of this order.', 0 );
		wp_set_current_user( $anna );
		$refused( array( '_bpm_nonce' => '' ) + $this->post( $order, $line ), 'form', 'expired', $anna );
		$refused( array( '_bpm_nonce' => 'abcdef1234' ) + $this->post( $order, $line ), 'form', 'expired', $anna );
		$refused( $this->post( $order, array( $item => array( 3, 'Wrong item' ) ) ), 'item_' . $item, 'At most 2 pieces', $anna );
		$refused( $this->post( $order, array( $item => array( -1, 'Wrong item' ) ) ), 'item_' . $item, 'not part of the order', $anna );
		$refused( $this->post( $order, array( 999999 => array( 1, 'Wrong item' ) ) ), 'item_999999', 'not part of the order', $anna );
		$refused( $this->post( $order, array( $item => array( 1, 'I just felt like it' ) ) ), 'item_' . $item, 'choose a reason', $anna );
		$refused( $this->post( $order, array( $item => array( 0, 'Wrong item' ) ) ), 'items', 'at least one item', $anna );
		$refused( $this->post( $order, $line, array( 'bpm_method' => 'drone' ) ), 'method', 'how you will send', $anna );
		$refused( $this->post( $order, $line, array( 'bpm_method' => 'locker', 'bpm_point' => 'x' ) ), 'point', 'parcel locker code', $anna );
		$refused( $this->post( $cod, array( $cod_item => array( 1, 'Wrong item' ) ) ), 'iban', 'bank account', $anna );
		$refused( $this->post( $cod, array( $cod_item => array( 1, 'Wrong item' ) ), array( 'bpm_iban' => 'PL62109010140000071219812874' ) ), 'iban', 'bank account', $anna );
		$this->assertSame( 0, Rma::query( array( 'customer_id' => $anna ) )['total'], 'nothing was created' );

		$ok = Form::handle_submit( $this->post( $cod, array( $cod_item => array( 1, 'Wrong item' ) ), array( 'bpm_iban' => 'PL61 1090 1014 0000 0712 1981 2874', 'bpm_method' => 'locker', 'bpm_point' => 'waw123m' ) ), array(), false );
		$this->assertIsArray( $ok, wp_json_encode( Form::state() ) );
		$this->assertSame( 'PL61109010140000071219812874', Rma::iban( $ok['rma_id'] ) );
		$this->assertSame( 'WAW123M', Rma::get( $ok['rma_id'] )['point'] );
	}

	public function test_complaint_photos_must_be_images(): void {
		$customer = $this->make_user( 'customer' );
		wp_set_current_user( $customer );
		list( $order, $item ) = $this->order( $customer, 40 );
		$post = $this->post( $order, array( $item => array( 1, 'Defect (reklamacja)' ) ) );
		// Outside the withdrawal window only complaints are taken.
		$this->assertNull( Form::handle_submit( $this->post( $order, array( $item => array( 1, 'Wrong item' ) ) ), array(), false ) );
		$bad = array(
			'shell.jpg' => "<?php system(\$_GET['c']); ?>",
			'logo.svg'  => '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>',
			'logo.png'  => '<svg xmlns="http://www.w3.org/2000/svg"></svg>',
		);
		foreach ( $bad as $name => $content ) {
			Form::reset();
			$this->assertNull( Form::handle_submit( $post, $this->upload( $name, $content ), false ), $name );
			$this->assertStringContainsString( 'is not a photo', Form::state()['errors']['photos'], $name );
		}
		Options::set( 'rma', array( 'max_photo_mb' => 1 ) );
		$big = $this->upload( 'big.png', base64_decode( self::PNG ) . str_repeat( "\0", MB_IN_BYTES ) );
		$this->assertSame( 1, Options::get_rma()['max_photo_mb'] );
		$this->assertNull( Form::handle_submit( $post, $big, false ) );
		$this->assertStringContainsString( 'larger than 1 MB', Form::state()['errors']['photos'] );
		$this->assertSame( 0, Rma::query( array( 'order_id' => $order->get_id() ) )['total'] );

		$ok = Form::handle_submit( $post, $this->upload( 'defect.png', base64_decode( self::PNG ) ), false );
		$this->assertIsArray( $ok, wp_json_encode( Form::state() ) );
		$rma = Rma::get( $ok['rma_id'] );
		$this->assertSame( 'complaint', $rma['kind'] );
		$this->assertCount( 1, $rma['photos'] );
		$this->assertMatchesRegularExpression( '/^[a-f0-9]{32}\.png$/', $rma['photos'][0] );
		$path = Photos::path( $rma['photos'][0] );
		$this->assertFileExists( $path );
		$this->assertFileExists( dirname( $path ) . '/.htaccess' );
		$this->assertStringContainsString( 'Require all denied', file_get_contents( dirname( $path ) . '/.htaccess' ) );
		$this->assertSame( '', Photos::path( '../../wp-config.php' ) );
		// Links name the photo by its position: the stored name never leaves the server.
		$url = Downloads::photo_url( $ok['rma_id'], 0 );
		$this->assertStringNotContainsString( $rma['photos'][0], $url );
		$this->assertStringContainsString( 'photo=0', $url );
		$this->assertStringNotContainsString( $rma['photos'][0], Downloads::photo_url( $ok['rma_id'], 0, true ) );
		$this->assertSame( $url, Downloads::photo_url( $ok['rma_id'], $rma['photos'][0] ), "a stored name (the shop's screen) gives the same link" );
		Photos::delete( $rma['photos'] );
	}

	public function test_the_private_folder_and_what_uninstall_removes(): void {
		$outside = wp_normalize_path( dirname( (string) realpath( ABSPATH ) ) ) . '/bpm-bridge-private';
		$this->assertSame( $outside, Photos::outside_candidate( ABSPATH, ABSPATH ), 'WordPress is the document root' );
		$this->assertSame( '', Photos::outside_candidate( ABSPATH, dirname( ABSPATH ) ), 'WordPress in a subfolder of the document root' );
		$this->assertSame( '', Photos::outside_candidate( ABSPATH, '' ), 'the document root is unknown' );
		// A command line run decides nothing: only the web server's user knows what it may write.
		delete_option( Photos::DIR_OPTION );
		$this->assertSame( Photos::fallback(), Photos::dir() );
		$this->assertFalse( get_option( Photos::DIR_OPTION ) );

		$dir = get_temp_dir() . 'bpm-private-' . wp_generate_password( 8, false );
		mkdir( $dir );
		$ours = bin2hex( random_bytes( 16 ) ) . '.png';
		foreach ( array( $ours => 'x', 'keep.txt' => 'not ours', 'index.php' => '<?php // the shop\'s own' ) + Photos::GUARDS as $file => $content ) {
			file_put_contents( $dir . '/' . $file, $content );
		}
		file_put_contents( $dir . '/index.php', '<?php // the shop\'s own' );
		update_option( Photos::DIR_OPTION, $dir );
		Photos::remove_all();
		$this->assertFileDoesNotExist( $dir . '/' . $ours );
		$this->assertFileDoesNotExist( $dir . '/.htaccess' );
		$this->assertFileExists( $dir . '/keep.txt', 'a file that is not ours stays' );
		$this->assertFileExists( $dir . '/index.php', 'an index.php that is not ours stays' );
		$this->assertFalse( get_option( Photos::DIR_OPTION ), 'the remembered folder is forgotten' );
		unlink( $dir . '/keep.txt' );
		unlink( $dir . '/index.php' );
		file_put_contents( $dir . '/' . $ours, 'x' );
		update_option( Photos::DIR_OPTION, $dir );
		Photos::remove_all();
		$this->assertDirectoryDoesNotExist( $dir, 'a folder with nothing else in it goes' );
	}

	public function test_too_large_uploads_say_so(): void {
		$customer = $this->make_user( 'customer' );
		wp_set_current_user( $customer );
		list( $order, $item ) = $this->order( $customer, 40 );
		// PHP takes less than the shop's 5 MB: the form says what really fits.
		$limit = static function () {
			return 2 * MB_IN_BYTES;
		};
		add_filter( 'upload_size_limit', $limit );
		$html = Form::render( $order, '', home_url( '/' ) );
		$this->assertStringContainsString( 'at most 2 MB each', $html );
		$this->assertStringContainsString( 'name="MAX_FILE_SIZE" value="' . ( 2 * MB_IN_BYTES ) . '"', $html );
		$this->assertStringContainsString( 'bpm_form=1', $html, 'the form posts to an address that survives a dropped POST' );
		remove_filter( 'upload_size_limit', $limit );
		// A photo PHP refused for its size is "larger than", not "could not be uploaded".
		$post = $this->post( $order, array( $item => array( 1, 'Defect (reklamacja)' ) ) );
		foreach ( array( UPLOAD_ERR_INI_SIZE, UPLOAD_ERR_FORM_SIZE ) as $error ) {
			$files                               = $this->upload( 'big.png', 'x' );
			$files['bpm_photos']['error'][0]     = $error;
			$files['bpm_photos']['tmp_name'][0]  = '';
			Form::reset();
			$this->assertNull( Form::handle_submit( $post, $files, false ) );
			$this->assertStringContainsString( 'big.png is larger than ' . size_format( Photos::max_bytes() ) . '.', Form::state()['errors']['photos'] );
		}
		// A POST over post_max_size arrives empty: the form says why instead of showing itself again blank.
		$server = $_SERVER;
		$_SERVER['REQUEST_METHOD'] = 'POST';
		$_SERVER['CONTENT_LENGTH'] = (string) ( 200 * MB_IN_BYTES );
		$_GET                      = array(
			'bpm_form'  => '1',
			'bpm_order' => (string) $order->get_id(),
		);
		$_POST                     = array();
		$_FILES                    = array();
		Form::reset();
		Form::maybe_handle();
		$_SERVER = $server;
		$_GET    = array();
		$this->assertStringContainsString( 'too large to send', (string) ( Form::state()['errors']['form'] ?? '' ) );
		$this->assertStringContainsString( 'too large to send', Form::render( $order, '', home_url( '/' ) ) );
		$this->assertSame( 0, Rma::query( array( 'order_id' => $order->get_id() ) )['total'] );
	}

	public function test_auto_approved_withdrawal(): void {
		$customer = $this->make_user( 'customer' );
		wp_set_current_user( $customer );
		list( $order, $item ) = $this->order( $customer );
		Options::set( 'rma', array( 'auto_approve_withdrawals' => true ) );
		if ( ! isset( Options::get_rma()['auto_approve_withdrawals'] ) ) {
			$this->markTestSkipped( 'the settings section has no auto_approve_withdrawals yet' );
		}
		$ok = Form::handle_submit( $this->post( $order, array( $item => array( 1, 'Wrong item' ) ) ), array(), false );
		$this->assertSame( 'approved', Rma::get( $ok['rma_id'] )['status'] );
		$steps = array_values( array_intersect( array_column( Rma::timeline( $ok['rma_id'], true ), 'event' ), array( 'requested', 'approved' ) ) );
		$this->assertSame( array( 'requested', 'approved' ), $steps );
	}

	public function test_guest_lookup_has_one_answer_and_a_limit(): void {
		list( $order, $item ) = $this->order( 0 );
		$number = (string) $order->get_order_number();
		$wrong_email  = Guest::find( $number, 'someone@example.com' );
		$wrong_number = Guest::find( '999999999', 'anna@example.com' );
		$this->assertInstanceOf( WP_Error::class, $wrong_email );
		$this->assertSame( $wrong_email->get_error_code(), $wrong_number->get_error_code() );
		$this->assertSame( $wrong_email->get_error_message(), $wrong_number->get_error_message() );
		$this->assertSame( $order->get_id(), Guest::find( '#' . $number, ' ANNA@example.com ' )->get_id() );

		// The token carries the match: the form works without a login, for this order only.
		$token = Guest::token( $order->get_id() );
		$this->assertSame( $order->get_id(), Guest::order_from_token( $token ) );
		$this->assertSame( 0, Guest::order_from_token( ( $order->get_id() + 1 ) . substr( $token, strlen( (string) $order->get_id() ) ) ), 'another order id' );
		$this->assertSame( 0, Guest::order_from_token( $token, time() + 2 * HOUR_IN_SECONDS ), 'expired' );
		$ok = Form::handle_submit( $this->post( $order, array( $item => array( 1, 'Wrong item' ) ), array( 'bpm_token' => $token, 'bpm_page' => home_url( '/zwroty/' ) ) ), array(), false );
		$this->assertIsArray( $ok, wp_json_encode( Form::state() ) );
		parse_str( (string) wp_parse_url( $ok['redirect'], PHP_URL_QUERY ), $query );
		$this->assertTrue( Guest::verify( $ok['rma_id'], (string) $query['bpm_sig'] ), 'the status page is signed' );
		$this->assertTrue( Guest::verify( $ok['rma_id'], Guest::signature( $ok['rma_id'] ) ) );
		$this->assertFalse( Guest::verify( $ok['rma_id'] + 1, Guest::signature( $ok['rma_id'] ) ) );
		// The link expires after 90 days, and names this return's e-mail and creation time.
		$signed = Guest::signature( $ok['rma_id'] );
		$this->assertTrue( Guest::verify( $ok['rma_id'], $signed, time() + 89 * DAY_IN_SECONDS ) );
		$this->assertFalse( Guest::verify( $ok['rma_id'], $signed, time() + 91 * DAY_IN_SECONDS ), 'expired' );
		$this->assertFalse( Guest::verify( $ok['rma_id'], '0' . $signed ), 'the expiry as signed, not another way of writing it' );
		$this->assertFalse( Guest::verify( $ok['rma_id'], ( time() + 200 * DAY_IN_SECONDS ) . substr( $signed, strpos( $signed, '.' ) ) ), 'a longer expiry is not signed' );
		global $wpdb;
		$table = BPM_Bridge\Installer::rma_table();
		$wpdb->update( $table, array( 'email' => 'ANNA@example.com' ), array( 'id' => $ok['rma_id'] ) );
		$this->assertTrue( Guest::verify( $ok['rma_id'], $signed ), 'the e-mail in lower case' );
		$wpdb->update( $table, array( 'email' => 'other@example.com' ), array( 'id' => $ok['rma_id'] ) );
		$this->assertFalse( Guest::verify( $ok['rma_id'], $signed ), 'another e-mail' );
		$wpdb->update( $table, array( 'email' => 'anna@example.com', 'created_at' => gmdate( 'Y-m-d H:i:s', time() - 3600 ) ), array( 'id' => $ok['rma_id'] ) );
		$this->assertFalse( Guest::verify( $ok['rma_id'], $signed ), 'another creation time (a re-used id)' );
		// The order token names the order's creation time too.
		$order->set_date_created( time() - 7200 );
		$order->save();
		$this->assertSame( 0, Guest::order_from_token( $token ), 'a token for an order that was created at another time' );
		$this->assertSame( $order->get_id(), Guest::order_from_token( Guest::token( $order->get_id() ) ) );
		list( $other ) = $this->order( 0 );
		$this->assertNull( Form::handle_submit( $this->post( $other, array( $item => array( 1, 'Wrong item' ) ), array( 'bpm_token' => $token ) ), array(), false ), "a token is for its order" );

		// Flooding from one address: the 6th attempt in 15 minutes is refused, right or wrong.
		$_SERVER['REMOTE_ADDR'] = '198.51.100.7';
		for ( $i = 0; $i < 5; $i++ ) {
			$this->assertSame( 'bpm_bridge_order_not_found', Guest::find( (string) ( 800000 + $i ), 'x@example.com' )->get_error_code() );
		}
		$this->assertSame( 'bpm_bridge_rate_limited', Guest::find( $number, 'anna@example.com' )->get_error_code() );
		// Per order number: 10 a day, whichever address asks.
		for ( $i = 0; $i < 10; $i++ ) {
			$_SERVER['REMOTE_ADDR'] = '203.0.113.' . $i;
			$this->assertSame( 'bpm_bridge_order_not_found', Guest::find( '777777', 'x@example.com' )->get_error_code() );
		}
		$_SERVER['REMOTE_ADDR'] = '203.0.113.200';
		$this->assertSame( 'bpm_bridge_rate_limited', Guest::find( '777777', 'x@example.com' )->get_error_code() );
	}

	public function test_guest_limits_count_misses_per_order_and_ipv6_networks(): void {
		list( $order ) = $this->order( 0 );
		$number = (string) $order->get_order_number();
		// The customer's own look-ups do not use up the order's limit.
		for ( $i = 0; $i < Guest::ORDER_LIMIT + 2; $i++ ) {
			$_SERVER['REMOTE_ADDR'] = '203.0.113.' . ( 10 + $i );
			$this->assertInstanceOf( WC_Order::class, Guest::find( $number, 'anna@example.com' ), "look-up $i" );
		}
		// Misses do; once they are used up, a right look-up is refused too (no way around the limit).
		for ( $i = 0; $i < Guest::ORDER_LIMIT; $i++ ) {
			$_SERVER['REMOTE_ADDR'] = '203.0.113.' . ( 100 + $i );
			$this->assertSame( 'bpm_bridge_order_not_found', Guest::find( $number, 'guess' . $i . '@example.com' )->get_error_code() );
		}
		$_SERVER['REMOTE_ADDR'] = '203.0.113.250';
		$this->assertSame( 'bpm_bridge_rate_limited', Guest::find( $number, 'anna@example.com' )->get_error_code() );

		// IPv6: one /64 is one visitor.
		$this->assertSame( '2001:db8:1:2::/64', Guest::ip_bucket( '2001:db8:1:2:aaaa:bbbb:cccc:dddd' ) );
		$this->assertSame( '192.0.2.5', Guest::ip_bucket( '::ffff:192.0.2.5' ) );
		for ( $i = 1; $i <= Guest::IP_LIMIT; $i++ ) {
			$_SERVER['REMOTE_ADDR'] = '2001:db8:1:2::' . dechex( $i );
			$this->assertSame( 'bpm_bridge_order_not_found', Guest::find( (string) ( 810000 + $i ), 'x@example.com' )->get_error_code() );
		}
		$_SERVER['REMOTE_ADDR'] = '2001:db8:1:2:ffff::9';
		$this->assertSame( 'bpm_bridge_rate_limited', Guest::find( '810009', 'x@example.com' )->get_error_code(), 'another address of the same /64' );
		$_SERVER['REMOTE_ADDR'] = '2001:db8:1:3::1';
		$this->assertSame( 'bpm_bridge_order_not_found', Guest::find( '810010', 'x@example.com' )->get_error_code(), 'the next /64' );

		// Counting is atomic: 4 processes × 20 at the same moment count 80.
		$key = 'race-' . wp_generate_password( 8, false );
		$this->race( 'guest-count-worker.php', 4, fn() => array( $key ) );
		$this->assertSame( 80, Guest::count( 'order', $key, DAY_IN_SECONDS, false ) );
	}

	public function test_privacy_export_erase_and_the_refund_account(): void {
		$customer = $this->make_user( 'customer' );
		wp_set_current_user( $customer );
		list( $order, $item ) = $this->order( $customer, 40, 'cod' );
		$email = 'erase-' . wp_generate_password( 6, false, false ) . '@example.com';
		$order->set_billing_email( $email );
		$order->save();
		$post = $this->post( $order, array( $item => array( 1, 'Defect (reklamacja)' ) ), array( 'bpm_note' => 'Pęknięta obudowa.', 'bpm_iban' => 'PL61109010140000071219812874' ) );
		$ok   = Form::handle_submit( $post, $this->upload( 'defect.png', base64_decode( self::PNG ) ), false );
		$this->assertIsArray( $ok, wp_json_encode( Form::state() ) );
		$id    = $ok['rma_id'];
		$photo = Photos::path( Rma::get( $id )['photos'][0] );
		Rma::log( $id, 'email', 'E-mail sent to ' . $email . '.', 'system', true );

		$this->assertArrayHasKey( 'bpm-bridge-returns', apply_filters( 'wp_privacy_personal_data_exporters', array() ) );
		$this->assertArrayHasKey( 'bpm-bridge-returns', apply_filters( 'wp_privacy_personal_data_erasers', array() ) );
		$export = BPM_Bridge\Returns\Privacy::export( $email, 1 );
		$this->assertTrue( $export['done'] );
		$this->assertCount( 1, $export['data'] );
		$values = array_column( $export['data'][0]['data'], 'value', 'name' );
		$this->assertSame( array( Rma::number( $id ), 'Pęknięta obudowa.', 'PL61109010140000071219812874', $email, '1' ), array( $values['Return'], $values['Comment'], $values['Bank account for the refund'], $values['E-mail'], $values['Photos'] ) );

		$erased = BPM_Bridge\Returns\Privacy::erase( $email, 1 );
		$this->assertTrue( $erased['items_removed'] && $erased['items_retained'] && $erased['done'] );
		$rma = Rma::get( $id, true );
		$this->assertSame( array( '', '', array() ), array( $rma['email'], $rma['customer_note'], $rma['photos'] ) );
		$this->assertSame( '', Rma::iban( $id ) );
		$this->assertFileDoesNotExist( $photo );
		$this->assertSame( 1, $rma['items'][0]['quantity'], 'the returned items are kept' );
		$this->assertStringNotContainsString( $email, wp_json_encode( $rma['timeline'] ) );
		$this->assertFalse( BPM_Bridge\Returns\Privacy::erase( $email, 1 )['items_removed'], 'nothing left to erase' );

		// The refund account: kept while the shop pays it back by hand, forgotten 30 days after the refund.
		list( $cod, $cod_item ) = $this->order( $customer, 1, 'cod' );
		$kept = Form::handle_submit( $this->post( $cod, array( $cod_item => array( 1, 'Wrong item' ) ), array( 'bpm_iban' => 'PL61109010140000071219812874' ) ), array(), false );
		foreach ( array( array( 'requested', 'approved' ), array( 'approved', 'received' ), array( 'received', 'refunded' ) ) as $step ) {
			Rma::set_status( $kept['rma_id'], $step[0], $step[1] );
		}
		$this->assertSame( 'PL61109010140000071219812874', Rma::iban( $kept['rma_id'] ) );
		$this->assertSame( 0, BPM_Bridge\Returns\Privacy::forget_refund_accounts( time() + 29 * DAY_IN_SECONDS ) );
		$this->assertSame( 1, BPM_Bridge\Returns\Privacy::forget_refund_accounts( time() + 31 * DAY_IN_SECONDS ) );
		$this->assertSame( '', Rma::iban( $kept['rma_id'] ) );
		// Money sent back by the payment method: forgotten at once.
		list( $paid, $paid_item ) = $this->order( $customer, 1, 'cod' );
		$gone = Form::handle_submit( $this->post( $paid, array( $paid_item => array( 1, 'Wrong item' ) ), array( 'bpm_iban' => 'PL61109010140000071219812874' ) ), array(), false );
		Rma::set_status( $gone['rma_id'], 'requested', 'approved' );
		Rma::set_status( $gone['rma_id'], 'approved', 'received' );
		$refund = wc_create_refund( array( 'order_id' => $paid->get_id(), 'amount' => 0 ) );
		$refund->set_refunded_payment( true );
		$refund->save();
		global $wpdb;
		$wpdb->update( BPM_Bridge\Installer::rma_table(), array( 'refund_id' => $refund->get_id() ), array( 'id' => $gone['rma_id'] ) );
		Rma::set_status( $gone['rma_id'], 'received', 'refunded' );
		if ( wc_get_order( $refund->get_id() )->get_refunded_payment() ) {
			$this->assertSame( '', Rma::iban( $gone['rma_id'] ) );
		} else {
			// WooCommerce 7.8 with HPOS does not store a refund's refunded_payment flag (its own gateway refunds
			// lose it too), so the account waits for the 30-day purge like a refund paid by hand.
			$this->assertSame( 'PL61109010140000071219812874', Rma::iban( $gone['rma_id'] ) );
		}
	}

	public function test_the_customer_reads_steps_and_reasons_in_their_language(): void {
		$customer = $this->make_user( 'customer' );
		wp_set_current_user( $customer );
		list( $order, $item ) = $this->order( $customer );
		$ok = Form::handle_submit( $this->post( $order, array( $item => array( 1, 'Wrong item' ) ) ), array(), false );
		$this->assertIsArray( $ok, wp_json_encode( Form::state() ) );
		// A shop manager with an English admin approves, with a note.
		Rma::set_status( $ok['rma_id'], 'requested', 'approved', 'Send it in the original box.', 'staff' );
		Rma::log( $ok['rma_id'], 'note', 'A note of our own.', 'staff', true );
		$polish = static function ( $translation, $text, $domain ) {
			$words = array(
				'Return requested.' => 'Zgłoszono zwrot.',
				'Return approved.'  => 'Zwrot zaakceptowany.',
				'Wrong item'        => 'Niewłaściwy produkt',
			);
			return 'bpm-bridge' === $domain && isset( $words[ $text ] ) ? $words[ $text ] : $translation;
		};
		add_filter( 'gettext', $polish, 10, 3 );
		$html = BPM_Bridge\Returns\Account::status( Rma::get( $ok['rma_id'] ), false, false );
		$form = Form::render( $order, '', home_url( '/' ) );
		remove_filter( 'gettext', $polish, 10 );
		$this->assertStringContainsString( 'Zgłoszono zwrot.', $html );
		$this->assertStringContainsString( 'Zwrot zaakceptowany. Send it in the original box.', $html, 'the step in the reader\'s words, the note as written' );
		$this->assertStringNotContainsString( 'Return approved.', $html );
		$this->assertStringContainsString( 'A note of our own.', $html );
		$this->assertStringContainsString( '× 1 — Niewłaściwy produkt', $html );
		$this->assertMatchesRegularExpression( '#<option value="Wrong item"[^>]*>Niewłaściwy produkt</option>#', $form, 'the value stays the setting' );
	}

	public function test_the_block_uses_the_block_wrapper(): void {
		$type = WP_Block_Type_Registry::get_instance()->get_registered( 'bpm-bridge/return-form' );
		$this->assertNotNull( $type );
		$this->assertSame( 3, $type->api_version );
		$this->assertSame( 'bpm-bridge', json_decode( (string) file_get_contents( BPM_BRIDGE_DIR . '/blocks/return-form/block.json' ), true )['textdomain'] );
		// WordPress translates block.json's title and description with these contexts: the Polish file has them.
		$meta = json_decode( (string) file_get_contents( BPM_BRIDGE_DIR . '/blocks/return-form/block.json' ), true );
		$po   = (string) file_get_contents( BPM_BRIDGE_DIR . '/languages/bpm-bridge-pl_PL.po' );
		$this->assertStringContainsString( "msgctxt \"block title\"\nmsgid \"" . $meta['title'] . '"', $po );
		$this->assertStringContainsString( "msgctxt \"block description\"\nmsgid \"" . $meta['description'] . '"', $po );
		$asset = include BPM_BRIDGE_DIR . '/blocks/return-form/index.asset.php';
		$this->assertContains( 'wp-block-editor', $asset['dependencies'], 'the editor script uses useBlockProps' );
		$html = do_blocks( '<!-- wp:bpm-bridge/return-form /-->' );
		$this->assertMatchesRegularExpression( '/^<div class="[^"]*\bbpm-return-block\b[^"]*\bwp-block-bpm-bridge-return-form\b|^<div class="[^"]*\bwp-block-bpm-bridge-return-form\b[^"]*\bbpm-return-block\b/', trim( $html ) );
		$this->assertStringContainsString( 'bpm-return-lookup-form', $html );
		// Pages with the form are kept out of page caches.
		$page = static function ( string $content ): WP_Post {
			return new WP_Post( (object) array( 'post_content' => $content ) );
		};
		$this->assertTrue( BPM_Bridge\Returns\Customer::has_form( $page( '<!-- wp:bpm-bridge/return-form /-->' ) ) );
		$this->assertTrue( BPM_Bridge\Returns\Customer::has_form( $page( 'Zwroty: [bpm_bridge_return_form]' ) ) );
		$this->assertFalse( BPM_Bridge\Returns\Customer::has_form( $page( 'Nothing here.' ) ) );
	}

	public function test_small_things_the_customer_meets(): void {
		$customer = $this->make_user( 'customer' );
		wp_set_current_user( $customer );
		list( $order, $item ) = $this->order( $customer );
		// Arrays where text is expected are no answer (and no PHP warning).
		$this->assertNull( Form::handle_submit( $this->post( $order, array( $item => array( 1, 'Wrong item' ) ), array( 'bpm_note' => array( 'x' ), 'bpm_method' => array( 'own' ) ) ), array(), false ) );
		$this->assertSame( array( '', '' ), array( Form::state()['values']['note'], Form::state()['values']['method'] ) );
		$this->assertStringContainsString( 'how you will send', Form::state()['errors']['method'] );
		$nested = $this->post( $order, array() );
		$nested['bpm_qty'] = array( $item => array( '1' ) );
		$this->assertNull( Form::handle_submit( $nested, array(), false ), 'a quantity sent as a list is not 1' );
		$this->assertSame( 0, Rma::query( array( 'order_id' => $order->get_id() ) )['total'] );
		// A bank number copied with no-break and thin spaces.
		$this->assertSame( 'PL61109010140000071219812874', Input::iban( "PL61\u{00A0}1090\u{2009}1014\u{202F}0000 0712 1981 2874" ) );
		// Other cash-on-delivery gateways.
		$order->set_payment_method( 'pobranie' );
		$order->save();
		$this->assertFalse( Form::is_cod( $order ) );
		$cod = static function () {
			return array( 'cod', 'pobranie' );
		};
		add_filter( 'bpm_bridge_cod_gateways', $cod );
		$this->assertTrue( Form::is_cod( $order ) );
		$this->assertStringContainsString( 'id="bpm-iban"', Form::render( $order, '', home_url( '/' ) ) );
		remove_filter( 'bpm_bridge_cod_gateways', $cod );
		// The list shows the order number the customer knows.
		Rma::create( $order->get_id(), array( array( 'order_item_id' => $item, 'quantity' => 1 ) ), array( 'customer_id' => $customer ) );
		$number = static function () {
			return 'ZAM/2025/42';
		};
		add_filter( 'woocommerce_order_number', $number );
		$list = BPM_Bridge\Returns\Templates::render( 'list', array( 'rmas' => Rma::query( array( 'customer_id' => $customer ) )['items'] ) );
		remove_filter( 'woocommerce_order_number', $number );
		$this->assertStringContainsString( '#ZAM/2025/42', $list );
	}

	public function test_guest_form_refusals(): void {
		list( $order, $item ) = $this->order( 0 );
		// The look-up needs its nonce.
		foreach ( array( '', 'forged1234' ) as $nonce ) {
			Form::reset();
			Form::handle_lookup( array( '_bpm_nonce' => $nonce, 'bpm_order_number' => (string) $order->get_order_number(), 'bpm_email' => 'anna@example.com' ) );
			$this->assertStringContainsString( 'expired', Form::state()['lookup_error'] );
			$this->assertArrayNotHasKey( 'token', Form::state() );
		}
		Form::reset();
		Form::handle_lookup( array( '_bpm_nonce' => wp_create_nonce( 'bpm_bridge_return_lookup' ), 'bpm_order_number' => (string) $order->get_order_number(), 'bpm_email' => 'anna@example.com' ) );
		$this->assertNotEmpty( Form::state()['token'] );
		// An hour later the token has run out: the guest is asked to find the order again.
		$old = Guest::token( $order->get_id(), time() - 2 * HOUR_IN_SECONDS );
		$this->assertTrue( Guest::token_expired( $old ) );
		$this->assertFalse( Guest::token_expired( Guest::token( $order->get_id() ) ) );
		$this->assertNull( Form::handle_submit( $this->post( $order, array( $item => array( 1, 'Wrong item' ) ), array( 'bpm_token' => $old ) ), array(), false ) );
		$this->assertStringContainsString( 'find your order again', Form::state()['errors']['form'] );
		// More than 5 photos are refused.
		list( $late, $late_item ) = $this->order( 0, 40 );
		$files = array( 'bpm_photos' => array() );
		for ( $i = 0; $i < Photos::MAX_FILES + 1; $i++ ) {
			$one = $this->upload( 'p' . $i . '.png', base64_decode( self::PNG ) )['bpm_photos'];
			foreach ( $one as $field => $values ) {
				$files['bpm_photos'][ $field ][] = $values[0];
			}
		}
		$post = $this->post( $late, array( $late_item => array( 1, 'Defect (reklamacja)' ) ), array( 'bpm_token' => Guest::token( $late->get_id() ) ) );
		$this->assertNull( Form::handle_submit( $post, $files, false ) );
		$this->assertStringContainsString( 'At most 5 photos', Form::state()['errors']['photos'] );
		$this->assertSame( 0, Rma::query( array( 'order_id' => $late->get_id() ) )['total'] );
	}

	public function test_files_only_for_their_owner_and_staff(): void {
		$anna  = $this->make_user( 'customer' );
		$brian = $this->make_user( 'customer' );
		list( $order, $item ) = $this->order( $anna );
		$id  = Rma::create( $order->get_id(), array( array( 'order_item_id' => $item, 'quantity' => 1 ) ), array( 'customer_id' => $anna ) );
		$rma = Rma::get( $id );
		$as  = function ( int $user, array $query ) use ( $rma ) {
			wp_set_current_user( $user );
			$_GET = $query;
			$ok   = Downloads::allowed( 'bpm_bridge_return_label', $rma );
			$_GET = array();
			return $ok;
		};
		wp_set_current_user( $anna );
		$nonce = wp_create_nonce( 'bpm_bridge_return_label_' . $id );
		$this->assertTrue( $as( $anna, array( '_wpnonce' => $nonce ) ) );
		$this->assertFalse( $as( $anna, array() ), 'no nonce' );
		$this->assertFalse( $as( $anna, array( '_wpnonce' => 'forged123' ) ) );
		wp_set_current_user( $brian );
		$this->assertFalse( $as( $brian, array( '_wpnonce' => wp_create_nonce( 'bpm_bridge_return_label_' . $id ) ) ), "someone else's return" );
		$manager = $this->make_user( 'shop_manager' );
		wp_set_current_user( $manager );
		$this->assertTrue( $as( $manager, array( '_wpnonce' => wp_create_nonce( 'bpm_bridge_return_label_' . $id ) ) ) );
		$this->assertTrue( $as( 0, array( 'sig' => Guest::signature( $id ) ) ) );
		$this->assertFalse( $as( 0, array( 'sig' => Guest::signature( $id + 1 ) ) ) );
		$this->assertStringContainsString( 'sig=', Downloads::label_url( $id, true ) );
	}
}
