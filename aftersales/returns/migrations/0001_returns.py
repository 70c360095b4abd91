from tortoise import migrations
from tortoise.migrations import operations as ops
from aftersales.core.reasons import ReasonCode
from aftersales.returns.models import InspectionResult, ReturnStatus, ShippingPayer, TrackingSource
from aftersales.returns.policy import ReturnKind
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_user_locale'), ('orders', '0001_initial'), ('orders', '0002_sync_records'), ('orders', '0003_report_indexes'), ('refunds', '0003_evidence')]

    initial = True

    operations = [
        ops.CreateModel(
            name='ReturnCase',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('order', fields.ForeignKeyField('orders.Order', source_field='order_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('platform_order_id', fields.CharField(max_length=64)),
                ('platform_return_id', fields.CharField(null=True, max_length=64)),
                ('kind', fields.CharEnumField(description='RETURN: return\nEXCHANGE: exchange', enum_type=ReturnKind, max_length=16)),
                ('status', fields.CharEnumField(db_index=True, description='REQUESTED: requested\nAPPROVED: approved\nREJECTED: rejected\nAWAITING_SHIPMENT: awaiting_shipment\nIN_TRANSIT: in_transit\nDELIVERED: delivered\nRECEIVED: received\nINSPECTED: inspected\nREFUND_TRIGGERED: refund_triggered\nREPLACEMENT_SHIPPED: replacement_shipped\nCLOSED: closed\nCANCELLED: cancelled', enum_type=ReturnStatus, max_length=24)),
                ('platform_status', fields.CharField(default='', max_length=64)),
                ('reason', fields.CharEnumField(default=ReasonCode.OTHER, description='QUALITY: quality\nNOT_AS_DESCRIBED: not_as_described\nSIZE_FIT: size_fit\nDAMAGED: damaged\nWRONG_OR_MISSING: wrong_or_missing\nNOT_RECEIVED: not_received\nLOGISTICS: logistics\nCHANGED_MIND: changed_mind\nPRICE: price\nSERVICE: service\nAUTHENTICITY: authenticity\nOTHER: other', enum_type=ReasonCode, max_length=24)),
                ('buyer_text', fields.TextField(default='', unique=False)),
                ('policy_allowed', fields.BooleanField(null=True)),
                ('policy_rules', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('policy_explanation', fields.TextField(default='', unique=False)),
                ('return_address', fields.TextField(default='', unique=False)),
                ('shipping_payer', fields.CharEnumField(null=True, description='BUYER: buyer\nSHOP: shop\nINSURANCE: insurance', enum_type=ShippingPayer, max_length=16)),
                ('shipping_cost', fields.DecimalField(null=True, max_digits=12, decimal_places=2)),
                ('currency', fields.CharField(default='CNY', max_length=3)),
                ('price_difference', fields.DecimalField(null=True, max_digits=12, decimal_places=2)),
                ('price_difference_note', fields.TextField(default='', unique=False)),
                ('buyer_ship_by', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('confirm_receipt_by', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('platform_deadline', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('due_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('escalated', fields.BooleanField(default=False)),
                ('assignee', fields.ForeignKeyField('core.User', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decided_by', fields.ForeignKeyField('core.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision_note', fields.TextField(default='', unique=False)),
                ('buyer_shipped_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('received_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('received_by', fields.ForeignKeyField('core.User', source_field='received_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('inspected_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('inspected_by', fields.ForeignKeyField('core.User', source_field='inspected_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('refund', fields.ForeignKeyField('refunds.Refund', source_field='refund_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('replacement', fields.ForeignKeyField('orders.Shipment', source_field='replacement_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('action_keys', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('close_reason', fields.CharField(default='', max_length=255)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('version', fields.IntField(default=1)),
                ('requested_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'return_cases', 'app': 'returns', 'unique_together': (('store', 'platform_return_id'),), 'pk_attr': 'id', 'table_description': 'One return or exchange. ``version`` moves on every change, so a decision on a'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReturnLine',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('returns.ReturnCase', source_field='case_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('order_item', fields.ForeignKeyField('orders.OrderItem', source_field='order_item_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('platform_item_id', fields.CharField(default='', max_length=64)),
                ('title', fields.CharField(default='', max_length=255)),
                ('quantity', fields.IntField()),
                ('unit_price', fields.DecimalField(max_digits=12, decimal_places=2)),
                ('received_good', fields.IntField(default=0)),
                ('received_damaged', fields.IntField(default=0)),
                ('result', fields.CharEnumField(null=True, description='ACCEPTED: accepted\nDAMAGED: damaged\nMISSING: missing\nWRONG_ITEM: wrong_item', enum_type=InspectionResult, max_length=16)),
                ('note', fields.TextField(default='', unique=False)),
                ('restock', fields.BooleanField(null=True)),
                ('replacement_sku', fields.CharField(default='', max_length=128)),
                ('replacement_title', fields.CharField(default='', max_length=255)),
                ('replacement_price', fields.DecimalField(null=True, max_digits=12, decimal_places=2)),
            ],
            options={'table': 'return_lines', 'app': 'returns', 'pk_attr': 'id', 'table_description': 'One item coming back: how many, what arrived, what the warehouse found.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReturnAttachment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('returns.ReturnCase', source_field='case_id', db_constraint=True, to_field='id', related_name='attachments', on_delete=OnDelete.CASCADE)),
                ('line', fields.ForeignKeyField('returns.ReturnLine', source_field='line_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('file_name', fields.CharField(max_length=255)),
                ('stored_as', fields.CharField(max_length=255)),
                ('content_type', fields.CharField(max_length=64)),
                ('size', fields.IntField()),
                ('added_by', fields.ForeignKeyField('core.User', source_field='added_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'return_attachments', 'app': 'returns', 'pk_attr': 'id', 'table_description': 'A photo the warehouse took at inspection. Files live under the data dir.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReturnTracking',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('returns.ReturnCase', source_field='case_id', db_constraint=True, to_field='id', related_name='trackings', on_delete=OnDelete.RESTRICT)),
                ('carrier', fields.CharField(max_length=32)),
                ('tracking_no', fields.CharField(db_index=True, max_length=64)),
                ('source', fields.CharEnumField(description='PLATFORM: platform\nDESK: desk', enum_type=TrackingSource, max_length=16)),
                ('active', fields.BooleanField(default=True)),
                ('state', fields.CharField(default='', max_length=24)),
                ('events', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('checked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('check_error', fields.TextField(default='', unique=False)),
                ('added_by', fields.ForeignKeyField('core.User', source_field='added_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'return_trackings', 'app': 'returns', 'pk_attr': 'id', 'table_description': 'A tracking number the buyer shipped the return with, and what the carrier said.'},
            bases=['Model'],
        ),
    ]
