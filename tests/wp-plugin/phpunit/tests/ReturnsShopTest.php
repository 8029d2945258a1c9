<?php
/**
 * The shop's side of returns: e-mails, the "Return requested" order status, deadlines and the staff actions.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Admin\Returns_Page;
use BPM_Bridge\Installer;
use BPM_Bridge\Options;
use BPM_Bridge\Returns\Deadlines;
use BPM_Bridge\Rma;

/**
 * Shop side.
 */
class ReturnsShopTest extends BPM_Test_Case {

	/**
	 * Mails sent during the test: {to, subject, message, attachments}.
	 *
	 * @var array<int, array<string, mixed>>
	 */
	private $mails = array();

	/**
	 * Records every wp_mail() before the site's mail sink answers it.
	 */
	protected function setUp(): void {
		parent::setUp();
		if ( ! self::real_woocommerce() ) {
			$this->markTestSkipped( 'the e-mails and order statuses need real WooCommerce' );
		}
		$this->mails = array();
		add_filter( 'pre_wp_mail', array( $this, 'record_mail' ), 5, 2 );
	}

	/**
	 * Stops recording.
	 */
	protected function tearDown(): void {
		remove_filter( 'pre_wp_mail', array( $this, 'record_mail' ), 5 );
		parent::tearDown();
	}

	/**
	 * Keeps a copy of a mail.
	 *
	 * @param null|bool            $short Short-circuit.
	 * @param array<string, mixed> $atts  wp_mail() arguments.
	 */
	public function record_mail( $short, array $atts ) {
		$this->mails[] = array(
			'to'          => implode( ',', (array) $atts['to'] ),
			'subject'     => (string) $atts['subject'],
			'message'     => (string) $atts['message'],
			'attachments' => array_map( 'basename', (array) $atts['attachments'] ),
			'perms'       => array_map( static fn( $file ) => is_file( $file ) ? fileperms( $file ) & 0777 : -1, (array) $atts['attachments'] ),
		);
		return $short;
	}

	/**
	 * A completed order of one product with a return of one unit.
	 *
	 * @param array<string, mixed> $fields Rma::create() fields.
	 * @return array{0: WC_Order, 1: int}
	 */
	private function order_and_return( array $fields = array() ): array {
		$order = wc_create_order();
		$order->add_product( wc_get_product( wc_get_product_id_by_sku( 'KUB-1' ) ), 2 );
		$order->set_billing_email( 'anna@example.com' );
		$order->set_billing_first_name( 'Anna' );
		$order->set_billing_last_name( 'Nowak' );
		$order->set_payment_method( 'bacs' );
		$order->calculate_totals( true );
		$order->set_status( 'completed' );
		$order->save();
		$order->set_date_completed( time() - 10 * DAY_IN_SECONDS );
		$order->save();
		// WooCommerce's own mails for the new order are not this test's business; everything after them is.
		$this->mails = array();
		$items       = array_keys( $order->get_items() );
		$id    = Rma::create(
			$order->get_id(),
			array(
				array(
					'order_item_id' => $items[0],
					'product_id'    => wc_get_product_id_by_sku( 'KUB-1' ),
					'quantity'      => 1,
					'reason'        => 'Defect (reklamacja)',
				),
			),
			$fields + array(
				'kind'  => 'complaint',
				'email' => 'anna@example.com',
			)
		);
		$this->assertIsInt( $id );
		return array( wc_get_order( $order->get_id() ), $id );
	}

	/**
	 * Every mail to an address since the return's order was made (WooCommerce's own included).
	 *
	 * @param string $to Address.
	 * @return array<int, array<string, mixed>>
	 */
	private function mails_to( string $to ): array {
		return array_values( array_filter( $this->mails, static fn( $mail ) => $to === $mail['to'] ) );
	}

	public function test_the_customer_and_the_team_are_told_and_each_mail_is_on_the_timeline(): void {
		Options::set_rma( array( 'complaints_email' => 'reklamacje@example.com' ) );
		list( , $id ) = $this->order_and_return( array( 'email' => 'gosc@example.com' ) );
		$number       = Rma::number( $id );

		// A guest's return: the confirmation goes to the address given with the return.
		$customer = $this->mails_to( 'gosc@example.com' );
		$this->assertCount( 1, $customer, wp_json_encode( $this->mails ) );
		$this->assertStringContainsString( $number, $customer[0]['subject'] );
		$this->assertStringContainsString( 'Kubek ceramiczny', $customer[0]['message'] );
		$team = $this->mails_to( 'reklamacje@example.com' );
		$this->assertCount( 1, $team );
		$this->assertStringContainsString( $number, $team[0]['subject'] );
		$this->assertStringContainsString( 'page=bpm-bridge-returns', $team[0]['message'] );

		// Rejected: the reason the staff gave reaches the customer.
		$this->assertIsArray( Rma::set_status( $id, 'requested', 'rejected', 'The mug was used; photos show coffee stains.', 'staff' ) );
		$rejected = $this->mails_to( 'gosc@example.com' );
		$this->assertCount( 2, $rejected );
		$this->assertStringContainsString( 'rejected', $rejected[1]['subject'] );
		$this->assertStringContainsString( 'coffee stains', $rejected[1]['message'] );

		$timeline = Rma::timeline( $id );
		$events   = array_column( $timeline, 'public', 'event' );
		$this->assertTrue( $events['email_received'] );
		$this->assertFalse( $events['email_new'], 'the team\'s mail is staff-only' );
		$this->assertTrue( $events['email_rejected'] );

		// Without a complaints address the site administrator is told.
		Options::set_rma( array( 'complaints_email' => '' ) );
		$this->mails = array();
		$this->order_and_return();
		$this->assertCount( 1, $this->mails_to( (string) get_option( 'admin_email' ) ) );
	}

	public function test_the_approval_goes_out_once_with_the_label_attached(): void {
		list( , $id ) = $this->order_and_return( array( 'kind' => 'withdrawal' ) );
		$this->assertIsArray( Rma::set_status( $id, 'requested', 'approved', '', 'staff' ) );
		$this->assertCount( 1, $this->mails_to( 'anna@example.com' ), 'no label yet: only the confirmation' );
		$this->assertTrue( Rma::set_label( $id, array( 'carrier' => 'inpost', 'tracking_number' => '620000000000000000000042', 'url' => 'https://inpost.pl/sledzenie-przesylek?number=620000000000000000000042' ), base64_encode( "%PDF-1.4\n%%EOF\n" ) ) );
		do_action( 'bpm_bridge_rma_label_attached', $id );
		do_action( 'bpm_bridge_rma_label_attached', $id );
		$mails = $this->mails_to( 'anna@example.com' );
		$this->assertCount( 2, $mails, 'the approval once' );
		$this->assertStringContainsString( 'approved', $mails[1]['subject'] );
		$this->assertStringContainsString( '620000000000000000000042', $mails[1]['message'] );
		$this->assertCount( 1, $mails[1]['attachments'] );
		$this->assertStringStartsWith( Rma::number( $id ) . '-label-', $mails[1]['attachments'][0] );
		$this->assertSame( array(), glob( get_temp_dir() . Rma::number( $id ) . '-label-*.pdf' ), 'the temporary attachment is gone' );
	}

	public function test_the_return_requested_status_is_set_and_given_back(): void {
		$this->assertArrayHasKey( 'wc-return-requested', wc_get_order_statuses() );
		$this->assertContains( 'return-requested', wc_get_is_paid_statuses() );
		list( $order, $id ) = $this->order_and_return();
		$this->assertSame( 'completed', $order->get_status(), 'the default leaves the order alone' );

		Options::set_rma( array( 'order_status' => 'return-requested' ) );
		list( $order, $id ) = $this->order_and_return();
		$this->assertSame( 'return-requested', $order->get_status() );
		$completed = $order->get_date_completed()->getTimestamp();
		$paid      = count( $this->events( 'order.paid' ) );
		$this->assertIsArray( Rma::set_status( $id, 'requested', 'rejected', 'Outside the complaint period.', 'staff' ) );
		$order = wc_get_order( $order->get_id() );
		$this->assertSame( 'completed', $order->get_status() );
		$this->assertSame( $completed, $order->get_date_completed()->getTimestamp(), 'completed when it was, not now' );
		$subjects = array_column( $this->mails_to( 'anna@example.com' ), 'subject' );
		$this->assertSame( array(), array_filter( $subjects, static fn( $subject ) => false === strpos( $subject, 'RMA-' ) ), 'no WooCommerce order mail: ' . implode( ' | ', $subjects ) );
		$this->assertSame( $paid, count( $this->events( 'order.paid' ) ), 'leaving and coming back is no payment' );
		$changes = array_map( static fn( $row ) => json_decode( $row['payload'], true )['data'], $this->events( 'order.status_changed' ) );
		$this->assertContains( array( 'order_id' => $order->get_id(), 'from' => 'completed', 'to' => 'return-requested' ), $changes );
		$this->assertContains( array( 'order_id' => $order->get_id(), 'from' => 'return-requested', 'to' => 'completed' ), $changes );

		// Reports: counted with the sales, not with the refunds.
		$this->assertContains( 'return-requested', apply_filters( 'woocommerce_reports_order_statuses', array( 'completed', 'processing', 'on-hold' ) ) );
		$this->assertSame( array( 'refunded' ), apply_filters( 'woocommerce_reports_order_statuses', array( 'refunded' ) ) );

		// Deactivating the plugin gives waiting orders their status back.
		list( $waiting, ) = $this->order_and_return();
		$this->assertSame( 'return-requested', $waiting->get_status() );
		\BPM_Bridge\Returns\Order_Status::deactivate();
		$this->assertSame( 'completed', wc_get_order( $waiting->get_id() )->get_status() );
		$this->assertSame( array(), array_filter( array_column( $this->mails, 'subject' ), static fn( $subject ) => false === strpos( $subject, 'RMA-' ) ) );
	}

	public function test_deadlines_run_per_kind_and_flag_late_returns(): void {
		global $wpdb;
		$now = time();
		$this->assertSame( 'overdue', Deadlines::state( array( 'kind' => 'complaint', 'status' => 'requested', 'due_at' => gmdate( 'c', $now - DAY_IN_SECONDS ) ), $now )['flag'] );
		$this->assertSame( '', Deadlines::state( array( 'kind' => 'complaint', 'status' => 'approved', 'due_at' => gmdate( 'c', $now - DAY_IN_SECONDS ) ), $now )['flag'], 'an answered complaint is on time' );
		$this->assertSame( 'overdue', Deadlines::state( array( 'kind' => 'withdrawal', 'status' => 'received', 'due_at' => gmdate( 'c', $now - DAY_IN_SECONDS ) ), $now )['flag'], 'a withdrawal runs until the refund' );
		$this->assertSame( '', Deadlines::state( array( 'kind' => 'withdrawal', 'status' => 'approved', 'due_at' => gmdate( 'c', $now + 5 * DAY_IN_SECONDS ) ), $now )['flag'] );

		// A term ends with its last day in the shop's time zone; "days left" are calendar days there.
		$zone = get_option( 'timezone_string' );
		update_option( 'timezone_string', 'Europe/Warsaw' );
		try {
			$at    = strtotime( '2026-03-10 10:00:00 UTC' ); // 11:00 in Warsaw.
			$state = static fn( string $due ) => Deadlines::state( array( 'kind' => 'withdrawal', 'status' => 'approved', 'due_at' => $due ), $at );
			$this->assertSame( 'due today', Deadlines::describe( $state( '2026-03-10T05:00:00Z' ), $at ), 'due at 06:00 is due until midnight' );
			$this->assertSame( 'soon', $state( '2026-03-10T05:00:00Z' )['flag'] );
			$this->assertSame( 'due in 1 day', Deadlines::describe( $state( '2026-03-11T08:00:00Z' ), $at ), 'tomorrow is not today' );
			$this->assertSame( 'due in 1 day', Deadlines::describe( $state( '2026-03-10T23:30:00Z' ), $at ), '00:30 on the 11th in Warsaw' );
			$this->assertSame( 'due in 2 days', Deadlines::describe( $state( '2026-03-12T01:00:00Z' ), $at ) );
			$this->assertSame( 'overdue by 1 day', Deadlines::describe( $state( '2026-03-09T22:30:00Z' ), $at ), '23:30 on the 9th in Warsaw' );
			$this->assertSame( '', $state( '2026-03-15T10:00:00Z' )['flag'] );
		} finally {
			update_option( 'timezone_string', $zone );
		}

		list( , $late ) = $this->order_and_return();
		list( , $answered ) = $this->order_and_return();
		list( , $fresh ) = $this->order_and_return();
		$past = gmdate( 'Y-m-d H:i:s', $now - DAY_IN_SECONDS );
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . Installer::rma_table() . ' SET due_at = %s WHERE id IN (%d, %d)', $past, $late, $answered ) );
		Rma::set_status( $answered, 'requested', 'approved', '', 'staff' );
		$this->assertSame( array( $late ), Deadlines::overdue_ids( $now ) );
		// Due earlier today is not overdue yet.
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . Installer::rma_table() . ' SET due_at = %s WHERE id = %d', gmdate( 'Y-m-d 00:00:00', $now ), $fresh ) );
		$this->assertSame( array( $late ), Deadlines::overdue_ids( $now ) );
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . Installer::rma_table() . ' SET due_at = %s WHERE id = %d', gmdate( 'Y-m-d H:i:s', $now + 14 * DAY_IN_SECONDS ), $fresh ) );
		$this->assertSame( 14, (int) round( ( strtotime( Rma::get( $fresh )['due_at'] ) - strtotime( Rma::get( $fresh )['created_at'] ) ) / DAY_IN_SECONDS ) );
		Deadlines::forget_count();
		$this->assertSame( 1, Deadlines::overdue_count() );
	}

	public function test_staff_actions_follow_the_transitions_and_a_stale_screen_changes_nothing(): void {
		list( , $id ) = $this->order_and_return();
		$this->assertSame( array( 'approve', 'reject' ), Returns_Page::actions_for( 'requested' ) );
		$this->assertSame( array( 'refund', 'reject' ), array_values( array_intersect( array( 'refund', 'reject' ), Returns_Page::actions_for( 'received' ) ) ) );
		$this->assertSame( array(), Returns_Page::actions_for( 'refunded' ) );

		$this->assertSame( 'error', Returns_Page::act( $id, 'reject', 'requested', '  ' )['type'], 'a rejection needs the reason' );
		$this->assertSame( 'error', Returns_Page::act( $id, 'refund', 'requested' )['type'], 'not received yet' );
		$this->assertSame( 'success', Returns_Page::act( $id, 'approve', 'requested' )['type'] );
		// A second screen still showing "requested": a notice, and the return stays approved.
		$stale = Returns_Page::act( $id, 'reject', 'requested', 'Too late' );
		$this->assertSame( 'warning', $stale['type'] );
		$this->assertStringContainsString( 'changed in the meantime', $stale['text'] );
		$this->assertSame( 'approved', Rma::get( $id )['status'] );
		$this->assertSame( 'success', Returns_Page::act( $id, 'receive', 'approved' )['type'] );
		$this->assertSame( 'staff', Rma::timeline( $id )[ count( Rma::timeline( $id ) ) - 1 ]['actor'] );

		$this->assertSame( 'PL•• •••• •••• •••• •••• •••• 1234', Returns_Page::mask_iban( 'PL61109010140000071219801234' ) );
		$this->assertSame( 'PL61 1090 1014 0000 0712 1980 1234', Returns_Page::format_iban( 'pl61109010140000071219801234' ) );
	}

	public function test_an_approved_complaint_is_accepted_at_once_and_cannot_be_rejected_later(): void {
		list( , $id ) = $this->order_and_return();
		$this->assertSame( array( 'approve', 'reject' ), Returns_Page::actions_for( 'requested', 'complaint' ) );
		$this->assertSame( 'success', Returns_Page::act( $id, 'approve', 'requested' )['type'] );
		$mails = $this->mails_to( 'anna@example.com' );
		$this->assertCount( 2, $mails, 'the confirmation and, at once, the acceptance: ' . implode( ' | ', array_column( $mails, 'subject' ) ) );
		$this->assertStringContainsString( 'We accept your complaint', $mails[1]['subject'] );
		$this->assertStringContainsString( 'send the item back', $mails[1]['message'] );
		$this->assertFalse( Deadlines::state( Rma::get( $id ) )['running'], 'answered in time by the approval' );
		// Accepted is accepted: no reject offered or taken afterwards (a withdrawal still can be).
		foreach ( array( 'approved', 'label_ready', 'arrived', 'received' ) as $status ) {
			$this->assertNotContains( 'reject', Returns_Page::actions_for( $status, 'complaint' ), $status );
		}
		$this->assertContains( 'reject', Returns_Page::actions_for( 'approved', 'withdrawal' ) );
		$this->assertSame( 'error', Returns_Page::act( $id, 'reject', 'approved', 'Changed our mind.' )['type'] );
		$this->assertSame( 'approved', Rma::get( $id )['status'] );
		// The label follows in its own e-mail.
		$this->assertTrue( Rma::set_label( $id, array( 'carrier' => 'inpost', 'tracking_number' => '620000000000000000000077', 'url' => 'https://inpost.pl/sledzenie-przesylek?number=620000000000000000000077' ), base64_encode( "%PDF-1.4\n%%EOF\n" ) ) );
		do_action( 'bpm_bridge_rma_label_attached', $id );
		$this->assertCount( 3, $this->mails_to( 'anna@example.com' ) );
	}

	public function test_rejecting_a_complaint_past_its_due_date_needs_a_confirmation(): void {
		global $wpdb;
		list( , $id ) = $this->order_and_return();
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . Installer::rma_table() . ' SET due_at = %s WHERE id = %d', gmdate( 'Y-m-d H:i:s', time() - DAY_IN_SECONDS ), $id ) );
		$warned = Returns_Page::act( $id, 'reject', 'requested', 'Scratches are wear and tear.' );
		$this->assertSame( 'warning', $warned['type'] );
		$this->assertStringContainsString( 'deems it accepted', $warned['text'] );
		$this->assertSame( 'requested', Rma::get( $id )['status'] );
		$this->assertSame( 'success', Returns_Page::act( $id, 'reject', 'requested', 'Scratches are wear and tear.', false, array( 'confirm_late' => true ) )['type'] );
		$this->assertSame( 'rejected', Rma::get( $id )['status'] );
	}

	public function test_the_customer_mails_say_the_right_thing_in_plain_words(): void {
		delete_transient( 'bpm_bridge_rma_guest_page' );
		$page = wp_insert_post(
			array(
				'post_type'    => 'page',
				'post_status'  => 'publish',
				'post_title'   => 'Zwroty B2',
				'post_content' => '[bpm_bridge_return_form]',
			)
		);
		$mailer = WC()->mailer();
		$plain  = $mailer->emails['BPM_Bridge_Email_Refund_Issued'];
		$type   = $plain->email_type;
		$plain->email_type = 'plain';
		try {
			// A guest: the link is the signed status page, and the public timeline names no address.
			list( , $id ) = $this->order_and_return( array( 'iban' => 'PL61109010140000071219801234', 'kind' => 'withdrawal' ) );
			$received     = $this->mails_to( 'anna@example.com' )[0];
			$this->assertStringContainsString( 'bpm_sig=', $received['message'] );
			$this->assertStringNotContainsString( 'my-account', $received['message'] );
			foreach ( Rma::timeline( $id, true ) as $step ) {
				$this->assertStringNotContainsString( '@', $step['message'], $step['event'] );
			}
			$this->assertContains( 'email_sent_to', array_column( Rma::timeline( $id ), 'event' ), 'the address is on the staff-only step' );

			// The label e-mail: its attachment is readable by the site's user only (and gone afterwards).
			Rma::set_status( $id, 'requested', 'approved', '', 'staff' );
			Rma::set_label( $id, array( 'carrier' => 'inpost', 'tracking_number' => '620000000000000000000077', 'url' => 'https://inpost.pl/sledzenie-przesylek?number=620000000000000000000077' ), base64_encode( "%PDF-1.4\n%%EOF\n" ) );
			do_action( 'bpm_bridge_rma_label_attached', $id );
			$label = $this->mails_to( 'anna@example.com' );
			$this->assertSame( array( 0600 ), end( $label )['perms'] );

			// No money through the payment method: the shop transfers it, to the account the customer gave.
			Rma::set_status( $id, 'approved', 'received', '', 'staff' );
			$this->assertIsArray( \BPM_Bridge\Returns\Refund::issue( $id, false ) );
			$refund = $this->mails_to( 'anna@example.com' );
			$refund = end( $refund );
			$this->assertStringContainsString( 'refund', $refund['subject'] );
			$text = str_replace( "\u{00A0}", ' ', $refund['message'] );
			$money = str_replace( "\u{00A0}", ' ', html_entity_decode( wp_strip_all_tags( wc_price( 30.75, array( 'currency' => 'PLN' ) ) ), ENT_QUOTES, 'UTF-8' ) );
			$this->assertStringContainsString( 'zł', $money );
			$this->assertStringContainsString( "We will transfer {$money} to your bank account ending in 1234.", $text );
			$this->assertDoesNotMatchRegularExpression( '/&(#[0-9]+|[a-z]+);/', $text, 'no HTML entities in a plain-text mail' );

			// A rejected return gets no approval e-mail, even if a label turns up later.
			list( , $other ) = $this->order_and_return();
			Rma::set_status( $other, 'requested', 'rejected', "It isn't faulty.", 'staff' );
			Rma::set_label( $other, array( 'carrier' => 'inpost', 'tracking_number' => '620000000000000000000078', 'url' => 'https://inpost.pl/sledzenie-przesylek?number=620000000000000000000078' ), base64_encode( "%PDF-1.4\n%%EOF\n" ) );
			do_action( 'bpm_bridge_rma_label_attached', $other );
			$this->assertSame( array(), array_filter( array_column( $this->mails_to( 'anna@example.com' ), 'subject' ), static fn( $subject ) => false !== strpos( $subject, 'approved' ) && false !== strpos( $subject, Rma::number( $other ) ) ) );
		} finally {
			$plain->email_type = $type;
			wp_delete_post( $page, true );
			delete_transient( 'bpm_bridge_rma_guest_page' );
		}

		// The team e-mail knows its recipient from the start (WooCommerce's e-mail settings show it).
		Options::set_rma( array( 'complaints_email' => 'reklamacje@example.com' ) );
		$team = new \BPM_Bridge\Emails\Email_New_Request();
		remove_action( 'bpm_bridge_email_bpm_bridge_rma_new', array( $team, 'trigger' ) );
		$this->assertSame( 'reklamacje@example.com', $team->get_recipient() );
		$this->assertSame( '', $team->format_string( '{order_date}' ), '{order_date} is a known placeholder' );
	}

	public function test_complaint_settings_keep_the_law_and_their_reasons_consistent(): void {
		$this->assertInstanceOf( WP_Error::class, Options::set( 'rma', array( 'complaint_days' => 400 ) ), 'less than the 2 years of the law' );
		$this->assertSame( 730, (int) Options::get( 'rma' )['complaint_days'] );
		$this->assertTrue( Options::set( 'rma', array( 'complaint_days' => 1095 ) ) );

		$this->assertTrue( Options::set( 'rma', array( 'reasons' => "Wrong item\nFaulty", 'complaint_reasons' => "Faulty\nBroken in the post" ) ) );
		$this->assertSame( array( 'Faulty' ), Options::get( 'rma' )['complaint_reasons'], 'a line that is no return reason is not saved' );
		$this->assertStringContainsString( '"Broken in the post" is not one of the return reasons', \BPM_Bridge\Settings\Sections\Rma::$last_error );
		$this->assertTrue( Options::set( 'rma', array( 'reasons' => implode( "\n", \BPM_Bridge\Settings\Sections\Rma::default_reasons() ), 'complaint_reasons' => implode( "\n", \BPM_Bridge\Settings\Sections\Rma::default_complaint_reasons() ), 'complaint_days' => 730 ) ) );
	}
}
