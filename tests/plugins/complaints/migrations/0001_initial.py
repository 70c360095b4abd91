from tortoise import migrations
from tortoise.migrations import operations as ops
from aftersales.core.reasons import ReasonCode
from tests.plugins.complaints.models import ComplaintStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0003_session_generation'), ('orders', '0001_initial'), ('orders', '0002_sync_records'), ('orders', '0003_report_indexes')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Complaint',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('order', fields.ForeignKeyField('orders.Order', source_field='order_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('platform_order_id', fields.CharField(max_length=64)),
                ('platform_status', fields.CharField(default='', max_length=64)),
                ('currency', fields.CharField(default='CNY', max_length=3)),
                ('reason', fields.CharEnumField(default=ReasonCode.OTHER, description='QUALITY: quality\nNOT_AS_DESCRIBED: not_as_described\nSIZE_FIT: size_fit\nDAMAGED: damaged\nWRONG_OR_MISSING: wrong_or_missing\nNOT_RECEIVED: not_received\nLOGISTICS: logistics\nCHANGED_MIND: changed_mind\nPRICE: price\nSERVICE: service\nAUTHENTICITY: authenticity\nOTHER: other', enum_type=ReasonCode, max_length=24)),
                ('buyer_text', fields.TextField(default='', unique=False)),
                ('due_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('platform_deadline', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('escalated', fields.BooleanField(default=False)),
                ('assignee', fields.ForeignKeyField('core.User', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decided_by', fields.ForeignKeyField('core.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision_note', fields.TextField(default='', unique=False)),
                ('version', fields.IntField(default=1)),
                ('requested_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=ComplaintStatus.OPEN, description='OPEN: open\nANSWERED: answered\nCLOSED: closed', enum_type=ComplaintStatus, max_length=16)),
                ('topic', fields.CharField(max_length=200)),
            ],
            options={'table': 'complaints', 'app': 'complaints', 'pk_attr': 'id', 'table_description': 'A complaint the shop must answer before ``due_at`` (a per-store timer).'},
            bases=['Case'],
        ),
    ]
