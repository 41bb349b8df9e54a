"""netstep's terminal side: the command line, the Textual app and the SSH server.

Importing this package is cheap: Textual is imported only by commands that open the app.
"""
