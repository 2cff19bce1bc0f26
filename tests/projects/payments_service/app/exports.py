"""Ledger exports the `payments-admin` command writes."""
from payments.ledger.client import open_session


# Not reported: only the command runs this, as its last act (see admin.py).
def export_day(day):
    session = open_session()
    rows = session.rows(day)
    if not rows:
        return 0
    session.close()
    return len(rows)


# Reported: the command runs this in a loop and goes on after it returns.
def export_account(account):
    session = open_session()  # expect: UC001
    rows = session.rows(account)
    if not rows:
        return 0
    session.close()
    return len(rows)
