"""Returns (RMA) pieces that are not a carrier: the PDF return slip (:mod:`sidecar.returns.slip`)."""
