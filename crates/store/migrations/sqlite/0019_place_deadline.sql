-- A town's queue sorted by deadline (a clerk's, a town leader's) walked the
-- whole store's running deadlines along cases_deadline to find its own: a
-- town's subtree is a small share of them. The list now merges one walk per
-- place of the subtree (its jpath), each a range of this index: by deadline
-- where one is running, by id among the cases with none.
-- Never edit an applied migration.
CREATE INDEX cases_jpath_deadline ON cases (jpath, due_at_ms, id);
