"""The self-contained HTML report and its JSON twin."""
