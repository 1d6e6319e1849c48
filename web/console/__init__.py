"""The admin and supervisor console under ``/admin``: accounts and roles
(``accounts``), acknowledgements of alerts (``acks``), what the dashboard shows
(``view``, pure), the live pages (``live``) and the routes (``routes``)."""
