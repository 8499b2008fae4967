"""Protocol code shared by calsync's clients and its servers; pure, no Django imports."""
