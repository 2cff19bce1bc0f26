"""The `payments-admin` command (a console script of the package)."""
import sys

from app import exports
from app.reconcile import reconcile_day


def main():
    day = sys.argv[1]
    if sys.argv[2:] == ["export"]:
        # The command's last act: when `export_day` returns, so does the
        # command, and the process gives back what it still holds.
        return exports.export_day(day)
    for account in sys.argv[2:]:
        # The command goes on after each export: what one keeps, it keeps
        # for the rest of the run.
        exports.export_account(account)
    print(reconcile_day(day))
