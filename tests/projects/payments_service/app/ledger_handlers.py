from payments.ledger.client import open_session
from payments.ledger import client as ledger


def post_entry(entry):
    session = open_session()  # expect: UC002
    session.post(entry)
    session.close()


def post_entries(entries):
    with open_session() as session:
        for entry in entries:
            session.post(entry)


def balance(account_id):
    session = ledger.open_session(readonly=True)  # expect: UC001
    if account_id is None:
        return 0
    try:
        return session.balance(account_id)
    finally:
        session.close()


def retry_post(entry, attempts):
    session = None
    try:
        for _ in range(attempts):
            # Leaks the previous session on each retry (UC006), which this
            # project's configuration ignores.
            session = open_session()
            if session.post(entry):
                return True
        return False
    finally:
        if session is not None:
            session.close()


def on_statement_entry(entry):
    from app.reconcile import reconcile_entry

    reconcile_entry(entry)
