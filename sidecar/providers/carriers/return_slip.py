"""The PDF return slip as a "carrier": no shipment is bought, the label is a slip made here at once.

Used when the shop has no carrier (``config.carrier.provider`` none), when the customer sends the parcel
their own way, and when the carrier refuses permanently — so the customer always gets something to put
in the parcel. ``tracking_number`` is the RMA number (it is what the barcode carries).
"""

from __future__ import annotations

from sidecar.providers.carriers.base import Carrier, Party, Progress, ReturnParcel, Search, Shipment
from sidecar.returns.slip import SlipData, render


def address_lines(shop: Party) -> list[str]:
    name = shop.company_name or " ".join(filter(None, (shop.first_name, shop.last_name)))
    street = " ".join(filter(None, (shop.street, shop.building_number)))
    city = " ".join(filter(None, (shop.post_code, shop.city)))
    return [line for line in (name, street, city) if line]


class ReturnSlip(Carrier):
    name = "return_slip"
    label = "PDF return slip"
    local = True

    def create(self, parcel: ReturnParcel) -> Shipment:
        return Shipment(id=parcel.reference, status="ready", tracking_number=parcel.reference)

    def find(self, parcel: ReturnParcel, created_after: float) -> Search:
        return Search(certain=True)  # nothing is ever bought

    def cancel(self, shipment_id: str) -> bool:
        return True

    def status(self, shipment_id: str) -> Shipment:
        return Shipment(id=shipment_id, status="ready", tracking_number=shipment_id)

    def label_pdf(self, shipment: Shipment, parcel: ReturnParcel) -> bytes:
        customer = " ".join(filter(None, (parcel.sender.first_name, parcel.sender.last_name)))
        return render(
            SlipData(
                rma_number=parcel.reference,
                order_number=parcel.order_number,
                customer_name=customer,
                return_address=address_lines(parcel.receiver),
                items=parcel.items,
                shop_name=parcel.receiver.company_name,
                note=str(self.extra.get("note") or ""),
            )
        )

    def progress(self, status: str) -> Progress:
        return "moving"
