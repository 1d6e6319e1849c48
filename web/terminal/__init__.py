"""The clerk's window terminal: one live page per window (``routes``), fed by a
``desk`` per window (its state, queue, visit and the action in flight),
showing what ``view`` derives from the hall config."""
