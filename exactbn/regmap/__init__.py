"""Register map of an AXI4-Lite programmed unit (``--cfg-bus axil``): the address layout
(:mod:`.layout`), its SystemRDL text and the PeakRDL outputs (:mod:`.rdl`), the C parameter
images and programming function (:mod:`.params_h`) and the Python driver (:mod:`.driver`)."""
