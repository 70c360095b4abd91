from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from aftersales.orders.models import ShipmentDirection
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0002_user_locale'), ('orders', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PlatformRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('stream', fields.CharField(max_length=16)),
                ('platform_id', fields.CharField(max_length=64)),
                ('data', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('handled', fields.IntField(default=0)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'platform_records', 'app': 'orders', 'unique_together': (('store', 'stream', 'platform_id'),), 'pk_attr': 'id', 'table_description': 'An after-sale or review record as synced, kept until a module handles it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Shipment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('orders.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='shipments', on_delete=OnDelete.RESTRICT)),
                ('direction', fields.CharEnumField(description='OUTBOUND: outbound\nRETURN: return', enum_type=ShipmentDirection, max_length=16)),
                ('carrier', fields.CharField(max_length=64)),
                ('tracking_no', fields.CharField(db_index=True, max_length=64)),
                ('shipped_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'shipments', 'app': 'orders', 'unique_together': (('order', 'direction', 'tracking_no'),), 'pk_attr': 'id', 'table_description': 'A parcel to or from the buyer. Tracking numbers are never deleted.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SyncError',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('stream', fields.CharField(max_length=16)),
                ('record_id', fields.CharField(null=True, max_length=64)),
                ('message', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sync_errors', 'app': 'orders', 'pk_attr': 'id', 'table_description': 'A record the platform sent that we could not read, with its id and why.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='SyncState',
            name='completed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
