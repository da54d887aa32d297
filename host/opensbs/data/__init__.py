"""Data files bundled with opensbs (the PhiX174 control genome)."""
