"""Ownership moves between the stores: taking a collection over into SQL, giving it back."""
