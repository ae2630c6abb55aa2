"""The publisher's use cases that change state, one module per group.

- `intake`     accepting results (and their evidence); `grouping` batches their reads and commits
- `tasks`      the start of a visit (`task.started`)
- `deliveries` replaying dead letters
- `copies`     keeping our copies of tasks, approved plans and draws
- `calendars`  taking an activated rule set's holiday calendar (`deadline.changed`)
"""
