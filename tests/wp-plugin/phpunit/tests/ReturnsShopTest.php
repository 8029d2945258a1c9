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
		list( , $id ) = $this->order_and_return();
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
		$this->assertSame( 'overdue', Deadlines::state( array( 'kind' => 'complaint', 'status' => 'requested', 'due_at' => gmdate( 'c', $now - 3600 ) ), $now )['flag'] );
		$this->assertSame( '', Deadlines::state( array( 'kind' => 'complaint', 'status' => 'approved', 'due_at' => gmdate( 'c', $now - 3600 ) ), $now )['flag'], 'an answered complaint is on time' );
		$this->assertSame( 'overdue', Deadlines::state( array( 'kind' => 'withdrawal', 'status' => 'received', 'due_at' => gmdate( 'c', $now - 3600 ) ), $now )['flag'], 'a withdrawal runs until the refund' );
		$soon = Deadlines::state( array( 'kind' => 'withdrawal', 'status' => 'approved', 'due_at' => gmdate( 'c', $now + 2 * DAY_IN_SECONDS + 60 ) ), $now );
		$this->assertSame( 'soon', $soon['flag'] );
		$this->assertSame( 'due in 2 days', Deadlines::describe( $soon, $now ) );
		$this->assertSame( '', Deadlines::state( array( 'kind' => 'withdrawal', 'status' => 'approved', 'due_at' => gmdate( 'c', $now + 5 * DAY_IN_SECONDS ) ), $now )['flag'] );

		list( , $late ) = $this->order_and_return();
		list( , $answered ) = $this->order_and_return();
		list( , $fresh ) = $this->order_and_return();
		$past = gmdate( 'Y-m-d H:i:s', $now - DAY_IN_SECONDS );
		$wpdb->query( $wpdb->prepare( 'UPDATE ' . Installer::rma_table() . ' SET due_at = %s WHERE id IN (%d, %d)', $past, $late, $answered ) );
		Rma::set_status( $answered, 'requested', 'approved', '', 'staff' );
		$this->assertSame( array( $late ), Deadlines::overdue_ids( $now ) );
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
}
