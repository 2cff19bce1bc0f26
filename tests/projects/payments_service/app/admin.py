"""The `payments-admin` command (a console script of the package)."""
import sys

from app.reconcile import reconcile_day


def main():
    day = sys.argv[1]
    print(reconcile_day(day))
