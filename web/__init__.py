"""Every HTTP endpoint of nippo: the app factory, Mattermost's callbacks, the
push API, the probes and the web pages. Requests arrive here and flow one way:
``web`` → ``commands`` → ``bot``, ``db``, ``persona``."""
