-- A handling body's queue sorted by deadline (a mediator's, a handler's)
-- walked the whole store's running deadlines along cases_deadline to find
-- its own: 206 ms for a town's mediation committee at 10,000,000 cases.
-- Its own deadlines in order, then its cases with none by id, are each a
-- range of this index.
-- Never edit an applied migration.
CREATE INDEX cases_body_deadline ON cases (body, due_at_ms, id);
