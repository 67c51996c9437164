"""Register map of an AXI4-Lite programmed unit (``--cfg-bus axil``): the address layout
(:mod:`.layout`, the one source of every offset), its SystemRDL text and the PeakRDL outputs
(:mod:`.rdl`), the C parameter images and programming functions (:mod:`.params_h`), the
kit's files and README section (:mod:`.kit`), the Python driver (:mod:`.driver`), the cocotb
bench runner (:mod:`.sim`) and the C compile check (:mod:`.ccheck`)."""
