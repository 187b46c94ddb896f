"""`cx-hq serve`: the live web dashboard (see hq/README.md, "Web dashboard").

    app.py      routes: login, stores, store, chain, push settings, /api/live
    auth.py     passwords (scrypt), sessions, CSRF tokens, lockout
    data.py     every SQL query and figure (portable SQL over the HQ views)
    present.py  figures as cell text, shared by the pages and their live refresh
    words.py    English and Vietnamese labels
    cli.py      `cx-hq serve` and `cx-hq passwd`
"""
