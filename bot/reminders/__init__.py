"""The morning reminder (docs/reminders.md): due runs, planning into the outbox, delivery.

The tick itself is ``bot.tick.run_tick``. What other parts of nippo use:

* ``schedule_snooze`` — the "Remind me in 1 hour" button enqueues one more DM;
* ``dm_attachments`` — the DM's buttons, rebuilt when a click updates the DM;
* ``command_for`` — the exact command that files a missing work date.
"""

from bot.reminders.snooze import schedule_snooze
from bot.reminders.texts import command_for, dm_attachments

__all__ = ["command_for", "dm_attachments", "schedule_snooze"]
