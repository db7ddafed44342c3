"""PostgreSQL for Linli: Django's backend with a health check that costs no round trip
while the connection is busy (``ENGINE = "linli.core.pgbackend"``)."""
