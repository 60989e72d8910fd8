"""The dual-write layer (Firestore -> PostgreSQL): change events, the SQL schema and store.

`events` is pure and cheap (the Firestore write path imports it); `sql_schema` and `sql_store`
pull in SQLAlchemy and are imported only where SQL is used. Nothing is re-exported here, so
importing one module never loads the others.
"""
