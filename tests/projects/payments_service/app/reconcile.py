"""Reconciliation of the ledger against the bank's statement files."""
from payments.ledger.client import open_session


# Not reported: only the `payments-admin` command runs this, and a failed
# post ends the command (the process gives the session back).
def reconcile_day(day):
    session = open_session()
    for entry in statement_entries(day):
        session.post(entry)
    session.close()
    return day


# Reported: the service's handlers run this too, in a process that lives on.
def reconcile_entry(entry):
    session = open_session()  # expect: UC002
    session.post(entry)
    session.close()


def statement_entries(day):
    with open(f"/srv/statements/{day}.csv") as f:
        return f.read().splitlines()
