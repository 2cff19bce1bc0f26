"""How the analysis knew a finding's resource: a catalogue entry, or one of
the kinds of inference (issue 8). Shared by precision.sh and judge_split.py
so that the counts and the judged samples classify findings alike."""

CATALOGUE = "catalogue entry"


def known_by(finding):
    if finding["resource"].startswith("learned:"):
        return "learnt from its release in the function"
    if finding["resource"].startswith("owner:"):
        return "instance of an owner class"
    if finding["code"] == "UC008":
        return "kept by a class that never releases it (UC008)"
    if "(a new one, from" in finding["message"]:
        return "returned by a helper function"
    return CATALOGUE


def inferred(finding):
    return known_by(finding) != CATALOGUE
