"""A whole simulated hall (`onewindow demo`), outside the engine it drives.

  simulate.py  seeded arrivals with a morning peak, a simulated clock, the hall's day
  demo.py      `onewindow demo`: broker, the real engine, the bridge on fake devices,
               simulated kiosks and staff, a live board in the terminal
"""
