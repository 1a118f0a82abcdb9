"""Vulnerability reports: collections of deployments, report configurations with a
schedule, and the worker that generates CSV reports (zipped) and mails them.

collections.py  the product's resourceSelectors → a SQL condition on deployments
configs.py      the product's v2 report configuration, checked field by field
schedule.py     DAILY / WEEKLY / MONTHLY at hour:minute UTC → the next run time
csvreport.py    rows from a server-side cursor → csv → zip, bounded
collection_store.py  collections (with embedded ones) in Central DB; the dry run
store.py        report configurations and jobs in Central DB (migration 0010)
service.py      ReportService: the tick (schedule due runs, claim and run jobs, mail)
"""

from stockade.central.reports.service import ReportService, ReportSettings
from stockade.central.reports.store import ReportStore

__all__ = ["ReportService", "ReportSettings", "ReportStore"]
