"""Accounts: the user profile (`bootstrapAccount`) and the deleted-account guard."""
