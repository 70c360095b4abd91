from tortoise import migrations
from tortoise.migrations import operations as ops
from aftersales.core.reasons import ReasonCode
from aftersales.refunds.models import LedgerSource, RefundKind, RefundStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_user_locale'), ('orders', '0002_sync_records')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Refund',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('order', fields.ForeignKeyField('orders.Order', source_field='order_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('platform_order_id', fields.CharField(max_length=64)),
                ('platform_refund_id', fields.CharField(null=True, max_length=64)),
                ('platform_item_id', fields.CharField(null=True, max_length=64)),
                ('kind', fields.CharEnumField(description='REFUND_ONLY: refund_only\nRETURN_AND_REFUND: return_and_refund\nSHIPPING: shipping\nPRICE_DIFFERENCE: price_difference\nCOMPENSATION: compensation', enum_type=RefundKind, max_length=24)),
                ('status', fields.CharEnumField(db_index=True, description='REQUESTED: requested\nAPPROVED: approved\nWAITING_RETURN: waiting_return\nREFUNDING: refunding\nREFUNDED: refunded\nWRITEBACK_FAILED: writeback_failed\nREJECTED: rejected\nCANCELLED: cancelled\nDISPUTED: disputed', enum_type=RefundStatus, max_length=24)),
                ('platform_status', fields.CharField(default='', max_length=64)),
                ('currency', fields.CharField(default='CNY', max_length=3)),
                ('requested_amount', fields.DecimalField(max_digits=12, decimal_places=2)),
                ('approved_amount', fields.DecimalField(null=True, max_digits=12, decimal_places=2)),
                ('reason', fields.CharEnumField(default=ReasonCode.OTHER, description='QUALITY: quality\nNOT_AS_DESCRIBED: not_as_described\nSIZE_FIT: size_fit\nDAMAGED: damaged\nWRONG_OR_MISSING: wrong_or_missing\nNOT_RECEIVED: not_received\nLOGISTICS: logistics\nCHANGED_MIND: changed_mind\nPRICE: price\nSERVICE: service\nAUTHENTICITY: authenticity\nOTHER: other', enum_type=ReasonCode, max_length=24)),
                ('platform_reason', fields.TextField(default='', unique=False)),
                ('buyer_text', fields.TextField(default='', unique=False)),
                ('due_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('platform_deadline', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('platform_updated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('escalated', fields.BooleanField(default=False)),
                ('auto_agreed', fields.BooleanField(default=False)),
                ('assignee', fields.ForeignKeyField('core.User', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decided_by', fields.ForeignKeyField('core.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision_note', fields.TextField(default='', unique=False)),
                ('decision_key', fields.CharField(null=True, max_length=128)),
                ('rule', fields.CharField(default='', max_length=255)),
                ('writeback', fields.ForeignKeyField('core.OutboxMessage', source_field='writeback_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('writeback_error', fields.TextField(default='', unique=False)),
                ('intercept_parcel', fields.BooleanField(default=False)),
                ('review_case_id', fields.IntField(null=True)),
                ('version', fields.IntField(default=1)),
                ('requested_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('refunded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'refunds', 'app': 'refunds', 'unique_together': (('store', 'platform_refund_id'),), 'pk_attr': 'id', 'table_description': 'One refund case. ``version`` moves on every change, so a decision made on a'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LedgerEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('refund', fields.ForeignKeyField('refunds.Refund', source_field='refund_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('order', fields.ForeignKeyField('orders.Order', source_field='order_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('order_item', fields.ForeignKeyField('orders.OrderItem', source_field='order_item_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('amount', fields.DecimalField(max_digits=12, decimal_places=2)),
                ('currency', fields.CharField(max_length=3)),
                ('source', fields.CharEnumField(description='DESK: desk\nPLATFORM: platform', enum_type=LedgerSource, max_length=16)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'refund_ledger', 'app': 'refunds', 'pk_attr': 'id', 'table_description': 'Money that went back to a buyer, one row per movement, never edited.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RefundLine',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('refund', fields.ForeignKeyField('refunds.Refund', source_field='refund_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('order_item', fields.ForeignKeyField('orders.OrderItem', source_field='order_item_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('is_shipping', fields.BooleanField(default=False)),
                ('amount', fields.DecimalField(max_digits=12, decimal_places=2)),
            ],
            options={'table': 'refund_lines', 'app': 'refunds', 'pk_attr': 'id', 'table_description': 'What the money is for: an order item, or the shipping (item null).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RefundRules',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.OneToOneField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('auto_approve_unshipped_up_to', fields.DecimalField(null=True, max_digits=12, decimal_places=2)),
                ('supervisor_above', fields.DecimalField(null=True, max_digits=12, decimal_places=2)),
                ('night_agent_up_to', fields.DecimalField(null=True, max_digits=12, decimal_places=2)),
                ('human_reasons', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('ad_hoc_agent_up_to', fields.DecimalField(null=True, max_digits=12, decimal_places=2)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'refund_rules', 'app': 'refunds', 'pk_attr': 'id', 'table_description': "A store's approval rules, edited by owners and supervisors."},
            bases=['Model'],
        ),
    ]
