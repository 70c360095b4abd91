from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from connectors.base import OrderStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    # Orders point at core's stores table, which must exist first.
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Customer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('platform_buyer_id', fields.CharField(max_length=64)),
                ('nick', fields.CharField(max_length=128)),
                ('name', fields.CharField(null=True, max_length=128)),
                ('phone', fields.CharField(null=True, max_length=32)),
                ('address', fields.TextField(null=True, unique=False)),
                ('tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('notes', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'customers', 'app': 'orders', 'unique_together': (('store', 'platform_buyer_id'),), 'pk_attr': 'id', 'table_description': 'A buyer of one store — phone and address are shown masked to most roles.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Order',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('platform_order_id', fields.CharField(max_length=64)),
                ('customer', fields.ForeignKeyField('orders.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(db_index=True, description='AWAITING_PAYMENT: awaiting_payment\nAWAITING_SHIPMENT: awaiting_shipment\nSHIPPED: shipped\nCOMPLETED: completed\nCLOSED: closed', enum_type=OrderStatus, max_length=24)),
                ('platform_status', fields.CharField(max_length=64)),
                ('currency', fields.CharField(default='CNY', max_length=3)),
                ('total_amount', fields.DecimalField(max_digits=12, decimal_places=2)),
                ('paid_amount', fields.DecimalField(max_digits=12, decimal_places=2)),
                ('placed_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('shipped_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('platform_updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('synced_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'orders', 'app': 'orders', 'unique_together': (('store', 'platform_order_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OrderItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('orders.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('platform_item_id', fields.CharField(max_length=64)),
                ('title', fields.CharField(max_length=255)),
                ('sku', fields.CharField(null=True, max_length=128)),
                ('quantity', fields.IntField()),
                ('unit_price', fields.DecimalField(max_digits=12, decimal_places=2)),
                ('amount', fields.DecimalField(max_digits=12, decimal_places=2)),
            ],
            options={'table': 'order_items', 'app': 'orders', 'unique_together': (('order', 'platform_item_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SyncState',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('stream', fields.CharField(max_length=16)),
                ('cursor', fields.TextField(null=True, unique=False)),
                ('last_synced_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('records_seen', fields.BigIntField(default=0)),
            ],
            options={'table': 'sync_states', 'app': 'orders', 'unique_together': (('store', 'stream'),), 'pk_attr': 'id', 'table_description': 'Where each (store, stream) sync stopped — saved with the page it follows.'},
            bases=['Model'],
        ),
    ]
