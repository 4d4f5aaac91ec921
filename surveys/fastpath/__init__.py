"""The public submission's fast path, and the plain reference path it must agree with.

`POST /api/public/surveys/<token>/responses/` is the busiest request there is: every respondent
of an embedded survey comes through it. The fast path answers it with less CPU and fewer round
trips; the reference path does the same with the framework's ordinary tools. The setting
PUBLIC_SUBMISSION_PATH (`fast`, the default, or `reference`) chooses; tests/surveys/
test_fastpath.py holds the two to the same status, body and stored rows on SQLite and
PostgreSQL, and `bench/bench_load.py` measures both (README, Performance).

What the fast path does differently, and where:

- quick.py: a plain JSON request is answered without DRF's request and response machinery
  (negotiation, parsing, rendering) and its body read without the serializer's field
  machinery (`read_public_submission`); the survey a token names is kept between requests
  (`surveys.versions.kept_target`) and read with one SQL statement
  (`Survey.objects.for_submission`).
- path.py (`FAST`): the parsed version is kept per process (`surveys.versions.current`);
  complete, valid ratings skip the web form's fields (`complete_ratings`); the row is stored
  by one hand-written INSERT that checks the survey still accepts answers
  (`Response.objects.insert`), on PostgreSQL joined with the outbox request in one statement
  (`Outbox.objects.insert_requesting`, through `services.insert_completed`).
- sql.py: those INSERTs, built from the models' own fields, and the cursor that prepares them
  on PostgreSQL.

reference.py (`REFERENCE`, `submit`): DRF's parsing, serializer and rendering, the survey and
version read through the ORM on every request, the answers read only by the web form's rules,
the row saved with `Model.save()` in a transaction. What both paths decide and answer is
`surveys.submission` (`submit_response`, `answer`), once.
"""
