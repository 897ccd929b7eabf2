"""Long-term hydrothermal dispatch: systems, stage LPs, SDDP, TS-DDR, bounds."""
