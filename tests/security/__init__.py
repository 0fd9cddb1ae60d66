"""The security test matrix (issue 6): each case, and the tests that cover it.

Cases tested here live in this package; cases that sit inside a feature's own test module stay
there (they share its fixtures) and are listed with their path. Every refusal asserts the status
and, where something could change, that nothing did (jobs, packages, actors, audit records).

- No credentials or a wrong token: 401/403 on every REST verb and websocket the app registers,
  nothing created — ``test_auth.py`` (``test_every_rest_verb_refuses_anonymous``,
  ``test_every_rest_verb_refuses_a_wrong_token``, ``test_every_websocket_refuses_anonymous``,
  ``test_every_handler_verb_is_decorated``).
- Read-only user: 403 on every change, reads pass — ``test_authorization.py``
  (``TestReadOnlyUser``); every route asks for its documented (action, resource):
  ``TestDocumentedPairs``.
- Owners: only a job's or a session's owner, or an ``iog:admin`` writer, may stop/delete it or
  release it (403 ``not_owner``, audited, nothing changed) — ``test_authorization.py``
  (``TestMultiUser``).
- Cookie auth without an XSRF token, with a mismatching one, from a foreign Origin (REST and
  websocket): refused; the JSON-in-text/plain CSRF post: 403; token auth needs no XSRF token —
  ``test_xsrf.py``.
- Changes by GET (``jobs/x/stop``, ``sessions/x/release``, ``packages``, ``actors/ns/name``):
  405/404 — ``test_requests.py::test_changes_are_not_reachable_by_get``.
- Form-encoded, text/plain, multipart or untyped bodies: 415, nothing created —
  ``test_requests.py::test_form_and_text_bodies_are_refused_and_create_nothing``.
- Dashboard proxy: other verbs 405 and dangerous GETs 403
  (``test_handlers_dashboard.py::test_every_other_verb_is_405``, ``test_dangerous_gets_are_403``,
  ``test_path_rules``); none of them, nor an anonymous, wrong-token or disallowed websocket
  upgrade, reaches Ray (``test_refusals_never_reach_ray``, read from Ray's access log);
  anonymous reads 403 (``test_anonymous_and_wrong_token_reads_are_403``); no Jupyter token
  reaches Ray (``test_jupyter_token_never_reaches_ray``); no Ray cookie reaches the browser
  (``test_ray_cookies_are_dropped``, ``test_reads_pass_with_rays_token_added``); view grants:
  ``test_dashboard_grants.py``.
- Submission ids and metadata with path separators, traversal, 300 characters, HTML, or empty
  (in the body and in the URL): 400 —
  ``test_requests.py::test_hostile_submission_ids_and_metadata_are_400``; every validation
  message: ``tests/test_core_jobs_validation.py::test_refusals``;
  ``tests/test_handlers_jobs.py::test_bad_id_in_path_is_400``,
  ``test_bad_submits_are_400_and_create_nothing``. HTML and paths inside metadata keys and
  values within the limits are data: accepted, and never shown raw
  (``test_widget_escaping.py``).
- Each forbidden ``runtime_env`` key, Ray's auth variables in ``env_vars``, pip options and
  URLs, working dirs outside the roots: 400 —
  ``test_requests.py::test_each_forbidden_runtime_env_key_is_400``;
  ``tests/test_core_jobs_validation.py::test_refusals``.
- Zips with ``../evil.py``, ``/abs/evil.py``, a symlink, a setuid bit, 10,001 entries, 5 MiB
  expanding past the cap (also with headers that lie about sizes): 400/413, nothing kept —
  ``test_requests.py::test_hostile_zips_are_refused_and_nothing_is_kept``;
  ``tests/test_core_jobs_validation.py::test_zip_refusals_keep_nothing``;
  ``tests/test_handlers_jobs.py::test_bad_zips_are_400``, ``test_package_over_cap_is_413``,
  ``test_chunked_bodies_over_cap_are_413``.
- A 2 MiB JSON body: 413 unread —
  ``test_requests.py::test_a_2_mib_json_body_is_413_and_creates_nothing``;
  ``tests/test_handlers_jobs.py::test_json_body_over_cap_is_413`` (also chunked).
- Env var values redacted in ``GET jobs/{id}``, ``GET jobs``, refusals and the audit log —
  ``test_requests.py::test_env_values_are_redacted_in_every_view_and_the_audit_log``; both
  backends: ``tests/test_handlers_jobs.py::test_job_lifecycle``.
- Ray's errors without traceback, site-packages paths or tokens —
  ``test_requests.py::TestRayErrors``; Ray down:
  ``tests/test_handlers_actors.py::test_unreachable_ray_is_503_not_500``.
- Killing Ray-internal or protected actors: 403, audited, the actors alive —
  ``tests/test_handlers_actors.py::test_refused_kills_are_403_audited_and_change_nothing``;
  ``tests/test_core_actors.py::test_refused_kills_change_nothing``.
- HTML and ANSI/OSC-8 ``javascript:`` links in job entrypoints, owners, metadata, logs, actor
  names and notebook paths reach the widgets as text (``get_state()``) —
  ``test_widget_escaping.py``; the pure HTML functions: ``tests/test_widgets_jobs.py``,
  ``tests/test_widgets_actors.py``, ``tests/test_widgets_sessions.py``,
  ``tests/test_widgets_figures.py``, ``tests/test_widgets_cluster.py``.
- Audit records for allowed and refused actions, no secrets, mode 0600 — ``test_requests.py``
  (``audit_records`` checks the mode on every read), ``test_authorization.py``
  (``test_only_the_owner_or_an_admin_releases_a_session``), ``test_xsrf.py``;
  ``tests/test_core_audit.py``; ``tests/test_handlers_jobs.py::test_job_lifecycle``.
- The Ray token never in a GET response, the dashboard proxy's replies, the first
  ``cluster/subscribe`` message, widget state, the server log, the audit log, a job's
  environment (both backends) or the environments iog writes for kernels —
  ``test_token_hygiene.py``.
- Changes refused on a server without XSRF checks, unless the operator accepts the risk —
  ``test_quotas_and_insecure_server.py`` (``TestInsecureServer``,
  ``TestInsecureServerAllowed``).
- Quotas: a third submission in a minute and a second running job are 429, refused and audited —
  ``test_quotas_and_insecure_server.py`` (``TestQuotas``, ``TestActiveJobsQuota``);
  ``tests/test_core_quotas.py``.
"""
