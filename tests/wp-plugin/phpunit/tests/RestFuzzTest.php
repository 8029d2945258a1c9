<?php
/**
 * A small fuzz of every bpm-bridge/v1 route (issue 8): malformed JSON, wrong types, huge and deep values,
 * signed and authenticated so they reach the handlers. Every answer is a 4xx or a 2xx, never a 5xx or a PHP error.
 *
 * @package BPM_Bridge_Tests
 */

use BPM_Bridge\Outbox;
use BPM_Bridge\Rma;
use BPM_Bridge\Signer;

/**
 * Fuzz.
 */
class RestFuzzTest extends BPM_Test_Case {

	/**
	 * Bodies that are wrong in some way.
	 *
	 * @return string[]
	 */
	private function bodies(): array {
		$deep = str_repeat( '{"a":', 600 ) . '1' . str_repeat( '}', 600 );
		return array(
			'',
			'not json',
			'{',
			'[]',
			'"x"',
			'1',
			'null',
			'{"meta":"x","expect":[1]}',
			'{"meta":[1,2]}',
			'{"meta":{"_bpm_invoice_id":{"a":1}}}',
			'{"meta":{"_bpm_invoice_id":null}}',
			'{"meta":{"":"x"},"expect":{"_bpm_invoice_id":7}}',
			'{"note":["x"],"customer_note":"maybe"}',
			'{"note":{"note":["x"]}}',
			'{"note":{"note":"\u0000\ud800"}}',
			'{"outcome":"x"}',
			'{"outcome":{"event_id":123,"action":[],"status":{}}}',
			'{"action":"invoice.issue","status":"done","details":"x","next_attempt_at":5}',
			'{"action":"invoice.issue","status":"done","order_id":"abc","message":{"a":1}}',
			'{"statuses":"processing"}',
			'{"statuses":[1,null]}',
			'{"page":"abc","per_page":1e308}',
			'{"page":-1,"per_page":0}',
			'{"page":99999999999999999999}',
			'{"modified_after":123,"modified_before":"2026-13-45T99:99:99Z","missing_meta":[]}',
			'{"from":null,"to":[]}',
			'{"from":"processing","to":"completed","note":{"x":1}}',
			'{"carrier":"INPOST!","tracking_number":"","url":123,"pdf_base64":123}',
			'{"carrier":"inpost","tracking_number":"1","url":"https://x.example/1.pdf","pdf_base64":"%%%"}',
			wp_json_encode( array( 'note' => str_repeat( 'ż', 300000 ) ) ),
			wp_json_encode( array( 'meta' => array_fill_keys( array_map( 'strval', range( 1, 2000 ) ), 'x' ) ) ),
			$deep,
			'{"note":' . $deep . '}',
		);
	}

	public function test_no_route_answers_5xx_to_bad_input(): void {
		global $wpdb;
		$this->as_api_user();
		$order = $this->make_order( 'processing' );
		$event = Outbox::add( 'order.paid', array( 'order_id' => $order->get_id() ) );
		$rma   = Rma::create( $order->get_id(), array( array( 'quantity' => 1 ) ) );
		$ids   = array(
			'(?P<order_id>\d+)'                   => array( (string) $order->get_id(), '999999', '0' ),
			'(?P<rma_id>\d+)'                     => array( (string) $rma, '999999' ),
			'(?P<event_id>[A-Za-z0-9_-]{1,64})' => array( $event, 'nope' ),
		);
		$failures = array();
		$count    = 0;
		foreach ( rest_get_server()->get_routes( 'bpm-bridge/v1' ) as $pattern => $handlers ) {
			$routes = array( $pattern );
			foreach ( $ids as $placeholder => $values ) {
				if ( false !== strpos( $pattern, $placeholder ) ) {
					$routes = array_map(
						static function ( $value ) use ( $pattern, $placeholder ) {
							return str_replace( $placeholder, $value, $pattern );
						},
						$values
					);
				}
			}
			foreach ( $routes as $route ) {
				foreach ( $handlers as $handler ) {
					foreach ( array_keys( $handler['methods'] ) as $method ) {
						foreach ( $this->bodies() as $body ) {
							$request = new WP_REST_Request( $method, $route );
							$request->set_header( 'content-type', 'application/json' );
							$request->set_body( $body );
							foreach ( Signer::request_headers( array( $this->secret ), $method, $route, array(), $body ) as $name => $value ) {
								$request->set_header( $name, $value );
							}
							$status = rest_do_request( $request )->get_status();
							++$count;
							if ( $status >= 500 || $status < 200 ) {
								$failures[] = $method . ' ' . $route . ' ' . substr( $body, 0, 60 ) . ' → ' . $status;
							}
						}
					}
				}
			}
		}
		$this->assertGreaterThan( 500, $count );
		$this->assertSame( array(), $failures );
		$this->assertSame( '', (string) $wpdb->last_error );
	}
}
