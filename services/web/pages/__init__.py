"""The web service's pages (HTML routes), one module per face: sign-in, 掌上查, …"""
