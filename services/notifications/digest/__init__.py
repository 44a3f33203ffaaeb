"""The daily digest: held notifications bundled into one email per user at their local digest time."""
