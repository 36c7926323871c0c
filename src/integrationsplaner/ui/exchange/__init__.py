"""Dialogs of the Austausch menu: export, import preview, conflicts, history, keys.

The main window calls the functions below (it imports this package only when the menu is used).
One module per dialog; ``common`` holds what they share. Slow work (reading, checking and
applying a bundle, writing one) runs in a worker thread with a progress dialog; cancelling
before "Übernehmen" changes nothing.
"""

from integrationsplaner.ui.exchange.conflicts_dialog import show_conflicts
from integrationsplaner.ui.exchange.export_dialog import export_bundle
from integrationsplaner.ui.exchange.history_dialog import show_history
from integrationsplaner.ui.exchange.import_dialog import import_bundle
from integrationsplaner.ui.exchange.keys_dialog import manage_keys

__all__ = ["export_bundle", "import_bundle", "manage_keys", "show_conflicts", "show_history"]
