from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('orders', '0004_sync_error_code')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Customer',
            name='contact_ciphertext',
            field=fields.JSONField(null=True),
        ),
    ]
