-- The contacts page (store/contactlist.go) lists a phonebook by name, then
-- number, in one key: lower(first_name || ' ' || last_name || ' ' ||
-- phone), "mari tamm +37255566677". The number is unique in its
-- organisation, so the key is too, and it is the cursor of the pages: a
-- page deep in contacts of one name (numbers imported without names)
-- starts where it should, which a pair (name, number) did not on SQLite
-- (it walks an index from a row value of plain columns only). Both
-- indexes are expressions the database keeps by itself, so every writer
-- of contacts (the page, imports, subscription links) is covered, however
-- it writes.
--
--   - contacts_by_name walks the list in its order from any cursor, and
--     serves a search by the start of the name ("mar" finds Mari Tamm,
--     "mari ta" too) as one range of it;
--   - contacts_by_last_name serves a search by the start of the last name
--     ("tam" finds Mari Tamm), carrying the list's key so that a page of
--     matches is cut without reading the contacts;
--   - a search by number is a range of contacts_by_phone (0014).
CREATE INDEX contacts_by_name ON contacts (org_id, lower(first_name || ' ' || last_name || ' ' || phone), lower(last_name), phone);
CREATE INDEX contacts_by_last_name ON contacts (org_id, lower(last_name), lower(first_name || ' ' || last_name || ' ' || phone));
