from django.core.management.base import BaseCommand

from surveys.services import dispatch_pending


class Command(BaseCommand):
    help = (
        "Send again the background requests not processed yet: never sent (the broker was "
        "down) or sent a while ago and lost (OUTBOX_RESEND_SECONDS)."
    )

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"Dispatched {dispatch_pending()} pending request(s).")
